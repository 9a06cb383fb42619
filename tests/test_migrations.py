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
