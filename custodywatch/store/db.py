"""Database engines for the alert store and the migrations that shape them.

SQLite is the single-box default: WAL so the API reads while analytics writes, a busy timeout so
two processes wait for each other instead of failing, and foreign keys enforced. PostgreSQL (many
boxes) needs none of this and gets a plain engine on the psycopg 3 driver; where SQLite's single
writer made a read-then-write correct, PostgreSQL writers take a lock (see serialize_writers).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
BUSY_TIMEOUT_MS = 5000
# An unreachable server fails a connection after this long instead of the OS's minutes-long timeout.
PG_CONNECT_TIMEOUT_S = 10
# A dead network (no RST, no FIN) otherwise leaves a connection hanging for the kernel's ~15 min of
# retransmissions, or for ever when idle. Keepalives break an idle one after 10 + 4 x 5 = 30 s
# without an answer; tcp_user_timeout (ms) breaks one whose sent data stays unacknowledged 30 s.
# Neither trips on a slow query: the server's kernel acknowledges while the server works.
PG_LINK_DEFAULTS: dict[str, int] = {
    "connect_timeout": PG_CONNECT_TIMEOUT_S,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 4,
    "tcp_user_timeout": 30_000,
}
# pg_advisory_xact_lock key that makes concurrent migrations of one database run one after another.
PG_MIGRATION_LOCK = 0x637573746F6479  # "custody"

# Execution option read by the SQLite "begin" hook; see for_writing().
_BEGIN_MODE = "custodywatch_sqlite_begin"


def make_engine(url: str) -> Engine:
    parsed = postgres_driver(make_url(url))
    if parsed.get_backend_name() == "postgresql":
        # connect_args override the URL's query, so only what the URL leaves unset is defaulted.
        connect_args = {k: v for k, v in PG_LINK_DEFAULTS.items() if k not in parsed.query}
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def postgres_driver(url: URL) -> URL:
    """A plain postgresql:// URL on psycopg 3, the driver installed (SQLAlchemy's default for it is
    psycopg2)."""
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    return url


def for_writing(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions take SQLite's write lock at BEGIN.

    A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when another
    process committed in between, without waiting; BEGIN IMMEDIATE waits up to the busy timeout
    instead. Other databases ignore the option.
    """
    return engine.execution_options(**{_BEGIN_MODE: "IMMEDIATE"})


def serialize_writers(session: Session, table: str) -> None:
    """Make this transaction the only writer of `table` until it ends.

    A write that reads first (the last hash of a chain, whether a row exists) is correct on SQLite
    because for_writing's BEGIN IMMEDIATE admits one writer to the whole database at a time.
    PostgreSQL admits many, so there the table's EXCLUSIVE lock is taken: other writers of the
    table wait for this commit and then read what it wrote; plain readers never wait.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f'LOCK TABLE "{table}" IN EXCLUSIVE MODE'))


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it is already there."""
    config = AlembicConfig(str(ALEMBIC_INI))
    with for_writing(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            # PostgreSQL's DDL is transactional but not serialised: two services starting at once
            # would both create the tables. The second waits here and then finds nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
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
