"""Engine and session factory. SQLite runs in WAL mode with a busy timeout so that the web
server, the scheduler and the senders can share one file; PostgreSQL is first-class."""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Let SQLAlchemy own transactions: pysqlite's own BEGIN handling is switched off so that
    # the "begin" listener below can take the write lock at the start (BEGIN IMMEDIATE).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin_immediate(conn) -> None:
    """One writer at a time, decided at BEGIN: a read-then-write transaction can never fail
    half-way with "database is locked", it waits its turn instead."""
    conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")  # straight to the driver: hot path


#: SQLite copies the WAL back into the database file every this many pages (its own default).
CHECKPOINT_PAGES = 1000
#: With background checkpoints, a commit still checkpoints past this many (about 80 MB): a
#: safety net should the thread fall behind, never the everyday path.
SAFETY_PAGES = 20000
log = logging.getLogger(__name__)


def background_checkpoints(engine: Engine, interval: float = 0.25) -> threading.Thread | None:
    """Move SQLite's WAL checkpoints off the message path, for a long-running process.

    By default the commit that crosses 1000 WAL pages copies them into the database file
    itself: every few hundred messages one person waits ~10 ms (the dispatcher's p99). Here a
    thread of its own does it, with its own connection, in PASSIVE mode (it never blocks a
    writer) while the sqlite3 module has let go of the GIL. Call it before the engine's first
    connection. The thread ends when the engine is garbage-collected. None for PostgreSQL and
    in-memory databases."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return None
    event.listen(engine, "connect", _checkpoint_in_background)
    thread = threading.Thread(target=_checkpoints, args=(weakref.ref(engine), path, interval),
                              name="sqlite-checkpoints", daemon=True)
    thread.start()
    return thread


def _checkpoint_in_background(dbapi_conn, _record) -> None:
    dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={SAFETY_PAGES}")


def _checkpoints(engine_ref, path: str, interval: float) -> None:
    conn = None
    try:
        while engine_ref() is not None:
            time.sleep(interval)
            if conn is None:
                conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
            _busy, wal_pages, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if wal_pages > SAFETY_PAGES:  # writers never stop long enough for it to catch up
                log.info("sqlite WAL at %d pages", wal_pages)
    except sqlite3.Error as exc:  # the file went away (a test's temporary directory): nothing left to do
        log.debug("background checkpoints stopped: %s", exc)
    finally:
        if conn is not None:
            conn.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
