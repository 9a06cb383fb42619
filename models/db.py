"""Engine and session factory. SQLite runs in WAL mode with a busy timeout so that the web
server, the scheduler and the senders can share one file; PostgreSQL is first-class."""
from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager

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
        engine.writer_turn = threading.RLock()  # see writer_turn()
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
    cur.execute("PRAGMA secure_delete=ON")  # see forget_on_disk
    cur.close()


def _sqlite_begin_immediate(conn) -> None:
    """One writer at a time, decided at BEGIN: a read-then-write transaction can never fail
    half-way with "database is locked", it waits its turn instead."""
    conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")  # straight to the driver: hot path


def writer_turn(sessions: sessionmaker[Session]) -> AbstractContextManager:
    """What a thread of this process holds around a write transaction on SQLite.

    SQLite has one writer at a time. Threads that wait for it on this lock are woken the
    moment it is free; waiting in SQLite's busy handler instead means sleeping in steps of up
    to 100 ms (what made the webhooks' p99 ~450 ms at 8 at once). The dispatcher, the outbox
    senders and the scheduler take it; other processes still meet at SQLite's own lock.
    Re-entrant, so a nested transaction in one thread behaves as it did without it.
    PostgreSQL has row locks: nothing to hold."""
    return getattr(sessions.kw.get("bind"), "writer_turn", None) or contextlib.nullcontext()


@contextlib.contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction, begun in this process's writer turn (see writer_turn)."""
    with writer_turn(sessions), sessions() as session, session.begin():
        yield session


#: SQLite copies the WAL back into the database file every this many pages (its own default).
CHECKPOINT_PAGES = 1000
#: With background checkpoints, a commit still checkpoints past this many (about 80 MB): a
#: safety net should the thread fall behind, never the everyday path.
SAFETY_PAGES = 20000
log = logging.getLogger(__name__)


def background_checkpoints(engine: Engine, interval: float = 0.25) -> CheckpointThread | None:
    """Move SQLite's WAL checkpoints off the message path, for a long-running process.

    By default the commit that crosses 1000 WAL pages copies them into the database file
    itself: every few hundred messages one person waits ~10 ms (the dispatcher's p99). Here a
    thread of its own does it, with its own connection, in PASSIVE mode (it never blocks a
    writer) while the sqlite3 module has let go of the GIL. Call it before the engine's first
    connection. The thread ends when the engine is disposed or garbage-collected. None for
    PostgreSQL and in-memory databases.

    Under writes without a pause the WAL file grows (SQLite starts it over only when a
    transaction begins just after a complete checkpoint); the first quiet moment starts it
    over, and past SAFETY_PAGES a commit checkpoints as SQLite would by default."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return None
    stop = threading.Event()
    event.listen(engine, "connect", _checkpoint_in_background)
    event.listen(engine, "engine_disposed", lambda _engine: stop.set())
    thread = CheckpointThread(weakref.ref(engine), path, interval, stop)
    thread.start()
    return thread


class CheckpointThread(threading.Thread):
    """The thread background_checkpoints starts; ``ticks`` counts the times it looked (a test
    waits for them instead of sleeping)."""

    def __init__(self, engine_ref, path: str, interval: float, stop: threading.Event) -> None:
        super().__init__(name="sqlite-checkpoints", daemon=True)
        self.engine_ref, self.path, self.interval, self.stop = engine_ref, path, interval, stop
        self.ticks = 0

    def run(self) -> None:
        _checkpoints(self.engine_ref, self.path, self.interval, self.stop, self)


def _checkpoint_in_background(dbapi_conn, _record) -> None:
    dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={SAFETY_PAGES}")


def _checkpoints(engine_ref, path: str, interval: float, stop: threading.Event, thread: CheckpointThread) -> None:
    conn = None
    while not stop.wait(interval) and engine_ref() is not None:
        thread.ticks += 1  # counted as it begins to look: a test that saw n+2 ticks saw a whole look
        if not os.path.exists(path):
            continue  # not created yet (connecting would create an empty file), or gone
        try:
            if conn is None:
                conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
                conn.execute("PRAGMA secure_delete=ON")
            _busy, wal_pages, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if wal_pages < 0:  # it connected before the file was in WAL mode: a new connection sees it
                conn.close()
                conn = None
            elif wal_pages > SAFETY_PAGES:  # writers never leave it a moment to catch up
                log.warning("sqlite WAL at %d pages", wal_pages)
        except sqlite3.Error as exc:  # tried again at the next tick, on a new connection
            log.warning("sqlite checkpoint failed: %s", type(exc).__name__)
            if conn is not None:
                conn.close()
                conn = None
    if conn is not None:
        conn.close()


#: How long truncating the WAL waits for a reader that still sees an older snapshot.
TRUNCATE_WAIT_MS = 5000


def forget_on_disk(engine: Engine) -> bool:
    """Leave no copy of deleted or overwritten data in SQLite's files: False when a reader
    kept the WAL from being emptied (the next call, at the latest the clean stop, does it).

    Every connection has ``secure_delete`` on, so what is deleted in the database file is
    overwritten with zeros (SQLite's default leaves it in free pages and free space). The WAL
    still holds the pages as they were before: a TRUNCATE checkpoint copies the newest pages
    back and cuts the WAL file to zero bytes. Called after an erasure commits, after a
    purge-after-send row is emptied, and on a clean stop. Nothing to do on PostgreSQL (see the
    README: its dead rows stay in the table files until VACUUM FULL reuses the space)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return True
    raw = engine.raw_connection()  # autocommit at the driver: a checkpoint runs outside a transaction
    try:
        conn = raw.driver_connection
        conn.execute(f"PRAGMA busy_timeout={TRUNCATE_WAIT_MS}")
        try:
            busy, _pages, _copied = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.execute("PRAGMA busy_timeout=30000")
    except sqlite3.Error as exc:
        log.warning("sqlite WAL not truncated: %s", type(exc).__name__)
        return False
    finally:
        raw.close()
    return busy == 0


def close(engine: Engine) -> None:
    """A clean stop: the WAL emptied (see forget_on_disk), every connection closed."""
    try:
        forget_on_disk(engine)
    finally:
        engine.dispose()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
