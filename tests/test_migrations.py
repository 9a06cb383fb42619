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
        conn.execute(text("INSERT INTO help_requests (neighbourhood_id, category, description, when_kind, status, created_at) "
                          "VALUES (:nb, 'shopping', 'water', 'week', 'open', CURRENT_TIMESTAMP)"), {"nb": nb})
        conn.execute(text("INSERT INTO outbox (idempotency_key, channel, address, language, purpose, text, options, status, "
                          "attempts, next_attempt_at, purge_after_send, created_at) VALUES ('k', 'demo', 'a', 'nl', 'reply', "
                          "'hi', '[]', 'pending', 0, CURRENT_TIMESTAMP, false, CURRENT_TIMESTAMP)"))
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT description FROM help_requests")).scalar() == "water"
        media = conn.execute(text("SELECT media FROM outbox")).scalar()
        assert media in ([], "[]")
