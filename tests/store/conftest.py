from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alert_samples import FakeClock
from sqlalchemy import Engine

from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "custodywatch.db"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{db_path}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(engine: Engine, clock: FakeClock) -> AlertStore:
    return AlertStore(engine, "zh-center", "box1", clock=clock)
