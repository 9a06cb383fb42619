"""Alembic migrations: the schema they build is exactly the models', on SQLite and PostgreSQL,
and an outdated database is refused with a clear message."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from models import Base
from models.db import make_engine
from models.schema import SchemaOutdated, current_revision, downgrade, head_revision, require_current, upgrade


def test_migrated_schema_matches_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    assert current_revision(engine) == head_revision(engine)
    require_current(engine)


def test_downgrade_to_nothing_and_back(engine):
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert not set(inspect(engine).get_table_names()) & {t.name for t in Base.metadata.sorted_tables}
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    assert {t.name for t in Base.metadata.sorted_tables} <= set(inspect(engine).get_table_names())


def test_outdated_schema_is_refused_with_advice(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(SchemaOutdated, match="buurtbot db upgrade"):
        require_current(engine)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_upgrade_keeps_existing_rows(engine):
    """0001 -> head on a database that already holds a request and a message."""
    downgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO neighbourhoods (name, slug, postcodes, default_language, created_at) "
                          "VALUES ('N', 'n', '[\"1040\"]', 'nl', CURRENT_TIMESTAMP)"))
        nb = conn.execute(text("SELECT id FROM neighbourhoods")).scalar()
        conn.execute(text("INSERT INTO help_requests (neighbourhood_id, category, description, when_kind, status, "
                          "created_at) "
                          "VALUES (:nb, 'shopping', 'water', 'week', 'open', CURRENT_TIMESTAMP)"), {"nb": nb})
        conn.execute(text("INSERT INTO outbox (idempotency_key, channel, address, language, purpose, text, options, "
                          "status, "
                          "attempts, next_attempt_at, purge_after_send, created_at) VALUES ('k', 'demo', 'a', 'nl', "
                          "'reply', "
                          "'hi', '[]', 'pending', 0, CURRENT_TIMESTAMP, false, CURRENT_TIMESTAMP)"))
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT description FROM help_requests")).scalar() == "water"
        media = conn.execute(text("SELECT media FROM outbox")).scalar()
        assert media in ([], "[]")


def _in_database_file(path, marker: bytes) -> bool:
    """Whether ``marker`` reached the database file itself, not only its WAL."""
    return marker in path.read_bytes()


@pytest.mark.parametrize("background", [False, True])
def test_wal_checkpoints_run_in_a_thread_of_their_own(tmp_path, background):
    """`buurtbot run` moves SQLite's checkpoints off the message path: a commit no longer
    copies the WAL into the database file (the 10 ms a message waited), the thread does."""
    import sqlite3
    import time

    from models.db import CHECKPOINT_PAGES, SAFETY_PAGES, background_checkpoints

    path = tmp_path / "wal.db"
    engine = make_engine(f"sqlite:///{path}")
    thread = background_checkpoints(engine, interval=0.01) if background else None

    def looked(times: int = 2) -> None:
        """Wait until the thread has taken ``times`` more looks (events, not a pause)."""
        if thread is None:
            return
        target = thread.ticks + times
        deadline = time.monotonic() + 30  # a guard against a thread that stopped, not a measurement
        while thread.ticks < target:
            assert thread.is_alive() and time.monotonic() < deadline, "the checkpoint thread stopped"
            time.sleep(0.005)

    looked()  # the thread looks before the file exists (`buurtbot demo` in a fresh directory) ...
    with sqlite3.connect(path) as plain:  # ... and while it is not in WAL mode yet
        plain.execute("CREATE TABLE notes (body TEXT)")
    plain.close()
    looked()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO notes VALUES ('marker-for-the-checkpoint')"))
        pages = conn.execute(text("PRAGMA wal_autocheckpoint")).scalar()
    assert pages == (SAFETY_PAGES if background else CHECKPOINT_PAGES)
    if background:  # the thread copies it into the database file: wait for that event
        deadline = time.monotonic() + 30
        while not _in_database_file(path, b"marker-for-the-checkpoint"):
            assert time.monotonic() < deadline, "the marker never reached the database file"
            looked(1)
    else:  # nothing else checkpoints below CHECKPOINT_PAGES: only in the WAL, at once and for good
        assert not _in_database_file(path, b"marker-for-the-checkpoint")
    if background:
        engine.dispose()
        thread.join(timeout=2)
        assert not thread.is_alive()  # it ends with its engine
    assert background_checkpoints(make_engine("sqlite://")) is None  # nothing to do in memory
