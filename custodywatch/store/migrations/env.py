"""Alembic environment: runs migrations on the connection migrate() hands over, or, from the
alembic CLI, on the database that CUSTODYWATCH_DATABASE_URL / the data directory names."""
from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from custodywatch.paths import database_url
from custodywatch.store import (
    accounts,  # noqa: F401  (the accounts' tables join the metadata)
    recordings,  # noqa: F401  (the recorder's tables join the metadata)
    rules_state,  # noqa: F401  (the rules' tables join the metadata)
)
from custodywatch.store.db import for_writing, make_engine
from custodywatch.store.models import Base


def run_migrations(connection: Connection) -> None:
    # Batch mode lets later revisions ALTER tables on SQLite, which rebuilds the table to do so.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_from_cli() -> None:
    engine = make_engine(database_url())
    try:
        with for_writing(engine).connect() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


handed_over = context.config.attributes.get("connection")
if handed_over is not None:
    run_migrations(handed_over)
else:
    run_from_cli()
