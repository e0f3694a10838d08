"""Scratch PostgreSQL databases on the shared server: made for a test run, dropped after it.

The server (127.0.0.1:5432, user postgres, trust auth) is shared with other runs, so every database
made here has a name unique to this process, and nothing else on the server is touched.
CUSTODYWATCH_TEST_PG overrides the server's admin URL (a psycopg conninfo URL).
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get("CUSTODYWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _admin() -> psycopg.Connection:
    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)


def server_url(database: str, host: str | None = None, port: int | None = None) -> str:
    """The SQLAlchemy URL of `database` on the scratch server (or through a proxy at host:port)."""
    info = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    host = host or str(info.get("host", "127.0.0.1"))
    port = port or int(info.get("port", 5432))
    user = info.get("user", "postgres")
    return f"postgresql+psycopg://{user}@{host}:{port}/{database}"


@dataclass
class ScratchDatabases:
    """Creates uniquely named databases and drops every one of them at close()."""

    prefix: str = field(default_factory=lambda: f"cw_{os.getpid()}_{uuid.uuid4().hex[:6]}")
    made: list[str] = field(default_factory=list)
    created: int = 0

    def create(self) -> str:
        """A new empty database; returns its name."""
        # A running count, not len(made): drop() shortens the list and a name must never repeat.
        self.created += 1
        name = f"{self.prefix}_{self.created}"
        with _admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.made.append(name)
        return name

    def url(self) -> str:
        """The SQLAlchemy URL of a new empty database."""
        return server_url(self.create())

    def drop(self, url: str) -> None:
        """Drop one database made here (given by its URL) before the end of the run."""
        name = make_url(url).database
        if name not in self.made:
            raise ValueError(f"{name!r} was not made by this run; refusing to drop it")
        with _admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        self.made.remove(name)

    def close(self) -> None:
        with _admin() as conn:
            for name in self.made:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        self.made.clear()
