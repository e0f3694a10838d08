"""Every store test runs on SQLite and on PostgreSQL (store_backend / store_url in tests/conftest.py)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alert_samples import FakeClock
from sqlalchemy import Engine

from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate


@pytest.fixture
def backend(store_backend: str) -> str:
    return store_backend


@pytest.fixture
def db_url(store_url: str) -> str:
    """An empty database: a SQLite file (at db_path), or a scratch PostgreSQL database."""
    return store_url


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """The SQLite file of db_url on the sqlite backend."""
    return tmp_path / "data" / "custodywatch.db"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite-specific: PostgreSQL has no database file, pragmas or WAL")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(engine: Engine, clock: FakeClock) -> AlertStore:
    return AlertStore(engine, "zh-center", "box1", clock=clock)
