from __future__ import annotations

import contextlib
import sqlite3
from functools import partial
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from at_once import run_at_once
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from custodywatch.store.db import make_engine, migrate
from custodywatch.store.models import Base


def test_migrate_creates_the_schema_of_the_models_on_an_empty_database(
    backend: str, db_url: str, db_path: Path
) -> None:
    engine = make_engine(db_url)  # on SQLite, db_path's directory does not exist yet
    try:
        migrate(engine)
        assert backend != "sqlite" or db_path.is_file()
        assert {"alerts", "alert_history", "alembic_version"} <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_migrate_again_is_a_no_op_that_keeps_the_data(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO alerts (id, site_id, box_id, rule, room, camera, severity, detail, active, "
            "condition_started_at, fired_at, state, false_positive, created_at, updated_at) "
            "VALUES ('a1', 's', 'b', 'video_loss', 'r', 'c', 'alarm', '', :yes, 1, 2, 'new', :no, 3, 3)"
        ), {"yes": True, "no": False})
        # One row per head: several revisions branch from earlier ones.
        heads = sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all())

    migrate(engine)

    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert sorted(versions) == heads
        assert connection.execute(text("SELECT id FROM alerts")).scalars().all() == ["a1"]


def test_two_services_migrating_an_empty_database_at_once_both_succeed(db_url: str) -> None:
    # The API and a `custodywatch user add` started together on a new database.
    engines = [make_engine(db_url) for _ in range(2)]
    try:
        errors = run_at_once(*(partial(migrate, e) for e in engines))
        assert errors == []
        with engines[0].connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        for e in engines:
            e.dispose()


@pytest.mark.usefixtures("sqlite_only")
def test_sqlite_runs_in_wal_mode_with_busy_timeout(engine: Engine, db_path: Path) -> None:
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    # WAL is recorded in the file itself, so any other reader or writer of the box uses it too.
    with contextlib.closing(sqlite3.connect(db_path)) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO alert_history (alert_id, at, kind, severity) VALUES ('missing', 1, 'fired', 'alarm')"
        ))
