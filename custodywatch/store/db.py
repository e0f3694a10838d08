"""Database engines for the alert store and the migrations that shape them.

SQLite is the single-box default: WAL so the API reads while analytics writes, a busy timeout so
two processes wait for each other instead of failing, and foreign keys enforced. PostgreSQL (many
boxes) needs none of this and gets a plain engine.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
BUSY_TIMEOUT_MS = 5000

# Execution option read by the SQLite "begin" hook; see for_writing().
_BEGIN_MODE = "custodywatch_sqlite_begin"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def for_writing(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions take SQLite's write lock at BEGIN.

    A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when another
    process committed in between, without waiting; BEGIN IMMEDIATE waits up to the busy timeout
    instead. Other databases ignore the option.
    """
    return engine.execution_options(**{_BEGIN_MODE: "IMMEDIATE"})


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it is already there."""
    config = AlembicConfig(str(ALEMBIC_INI))
    with for_writing(engine).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")  # recorder and rules revisions branch from 0001


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    # The sqlite3 driver's own transaction handling skips BEGIN before SELECT and DDL; turn it off
    # so that _begin_sqlite_transaction decides when and how a transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN_MODE, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")
