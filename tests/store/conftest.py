from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alert_samples import FakeClock
from sqlalchemy import Engine

from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "custodywatch.db"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the store test runs on; every store test runs on both."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, db_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database: a SQLite file, or a scratch PostgreSQL database dropped after the test."""
    if backend == "sqlite":
        yield f"sqlite:///{db_path}"
        return
    scratch = request.getfixturevalue("pg_databases")
    url: str = scratch.url()
    yield url
    scratch.drop(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite-specific: PostgreSQL has no file, pragmas or single-writer lock")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(engine: Engine, clock: FakeClock) -> AlertStore:
    return AlertStore(engine, "zh-center", "box1", clock=clock)
