from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from custodywatch.store.db import make_engine, migrate
from custodywatch.store.models import Base


def test_migrate_creates_the_schema_of_the_models_on_a_fresh_file(tmp_path: Path) -> None:
    db_path = tmp_path / "new" / "dir" / "custodywatch.db"
    engine = make_engine(f"sqlite:///{db_path}")
    try:
        migrate(engine)
        assert db_path.is_file()
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
            "VALUES ('a1', 's', 'b', 'video_loss', 'r', 'c', 'alarm', '', 1, 1, 2, 'new', 0, 3, 3)"
        ))
        # One row per head: the recorder's and the rules' revisions both branch from 0001.
        heads = sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all())

    migrate(engine)

    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert sorted(versions) == heads
        assert connection.execute(text("SELECT id FROM alerts")).scalars().all() == ["a1"]


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
