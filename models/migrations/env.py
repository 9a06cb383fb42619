"""Alembic environment: runs on the connection handed over by models.schema."""
from alembic import context

from models import Base

config = context.config
connection = config.attributes.get("connection")

if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    from models.db import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    connection = engine.connect()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
