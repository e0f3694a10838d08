"""Which schema revision a database is at, and bringing it to the newest (`custodywatch db ...`).

Every failure to open, reach or migrate the database becomes a DatabaseError whose message names
the URL with its credentials hidden, so an installer sees which database failed and why, and no
password reaches a terminal or a log.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from custodywatch.config import redact_url
from custodywatch.store.db import ALEMBIC_INI, make_engine, migrate, postgres_driver

SUPPORTED = ("postgresql", "sqlite")
EXAMPLES = "postgresql://USER@HOST:5432/DB or sqlite:////path/to/custodywatch.db"


class DatabaseError(Exception):
    """The database cannot be opened, reached or migrated; the message names it (redacted)."""


@dataclass(frozen=True)
class SchemaStatus:
    """The revisions a database is at, and those this version of custodywatch knows as newest."""

    current: tuple[str, ...]
    heads: tuple[str, ...]
    pending: tuple[str, ...]  # revisions an upgrade would apply, oldest last
    unknown: tuple[str, ...]  # revisions in the database that this version does not have

    @property
    def up_to_date(self) -> bool:
        return set(self.current) == set(self.heads)

    def describe(self) -> str:
        if self.unknown:
            return (f"ahead: revision(s) {', '.join(self.unknown)} are unknown to this version of "
                    "custodywatch (the database was migrated by a newer one)")
        if self.up_to_date:
            return "up to date"
        return (f"behind: {len(self.pending)} revision(s) to apply ({', '.join(reversed(self.pending))}); "
                "run `custodywatch db upgrade`")


@dataclass(frozen=True)
class Database:
    """A database URL checked for shape, with the form of it that may be shown."""

    url: URL
    shown: str

    @property
    def sqlite_file(self) -> Path | None:
        database = self.url.database
        if self.url.get_backend_name() != "sqlite" or not database or database == ":memory:" \
                or database.startswith("file:"):
            return None
        return Path(database)


def parse_database_url(url: str) -> Database:
    shown = redact_url(url)
    try:
        parsed = postgres_driver(make_url(url))
    except (ArgumentError, ValueError):
        raise DatabaseError(f"{shown}: not a database URL (expected e.g. {EXAMPLES})") from None
    if parsed.get_backend_name() not in SUPPORTED:
        raise DatabaseError(f"{shown}: unsupported database {parsed.get_backend_name()!r} "
                            f"(expected e.g. {EXAMPLES})")
    return Database(parsed, shown)


def status(database: Database) -> SchemaStatus:
    """Where the database stands; reads only (a SQLite file that does not exist is not created)."""
    path = database.sqlite_file
    if path is not None and not path.is_file():
        return _status(())
    with _opened(database) as engine:
        return _status(_current(database, engine))


def upgrade(database: Database) -> tuple[SchemaStatus, SchemaStatus]:
    """Apply every pending migration; the status before and after."""
    with _opened(database) as engine:
        before = _status(_current(database, engine))
        _migrate(database, engine)
        return before, _status(_current(database, engine))


def open_store(url: str) -> Engine:
    """The store's engine, migrated to the newest revision (what a service starts with)."""
    database = parse_database_url(url)
    engine = _engine(database)
    try:
        _migrate(database, engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _migrate(database: Database, engine: Engine) -> None:
    try:
        migrate(engine)
    except DBAPIError as exc:
        raise DatabaseError(f"{database.shown}: {_reason(database, exc)}") from None
    except CommandError as exc:
        raise DatabaseError(f"{database.shown}: cannot upgrade: {exc}") from None


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(AlembicConfig(str(ALEMBIC_INI)))


def _status(current: tuple[str, ...]) -> SchemaStatus:
    scripts = _scripts()
    heads = tuple(scripts.get_heads())
    known = {r.revision for r in scripts.walk_revisions()}
    unknown = tuple(r for r in current if r not in known)
    if unknown:
        return SchemaStatus(current, heads, (), unknown)
    applied = {r.revision for r in scripts.iterate_revisions(current, "base")} if current else set()
    pending = tuple(r.revision for r in scripts.iterate_revisions(heads, "base") if r.revision not in applied)
    return SchemaStatus(current, heads, pending, ())


def _current(database: Database, engine: Engine) -> tuple[str, ...]:
    try:
        with engine.connect() as connection:
            return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    except DBAPIError as exc:
        raise DatabaseError(f"{database.shown}: {_reason(database, exc)}") from None


def _engine(database: Database) -> Engine:
    try:
        return make_engine(database.url.render_as_string(hide_password=False))
    except (NoSuchModuleError, ModuleNotFoundError):
        raise DatabaseError(f"{database.shown}: the driver {database.url.drivername!r} is not installed "
                            f"(expected e.g. {EXAMPLES})") from None
    except OSError as exc:  # the SQLite file's directory cannot be made
        raise DatabaseError(f"{database.shown}: cannot make the directory {exc.filename}: "
                            f"{exc.strerror or exc}") from None


@contextlib.contextmanager
def _opened(database: Database) -> Iterator[Engine]:
    """The database's engine for one command, disposed at the end."""
    engine = _engine(database)
    try:
        yield engine
    finally:
        engine.dispose()


def _reason(database: Database, exc: DBAPIError) -> str:
    """The driver's message on one line, without the password should the driver repeat it."""
    text = " ".join(line.strip() for line in str(exc.orig).splitlines() if line.strip())
    if database.url.password:
        text = text.replace(str(database.url.password), "***")
    return text or type(exc.orig).__name__
