from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer
from sqlalchemy import Engine

from custodywatch.api.app import create_app
from custodywatch.api.events import EventHub, ZmqEventBridge
from custodywatch.api.schemas import HealthReport
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'custodywatch.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> AlertStore:
    return AlertStore(engine, "zh-center", "box1")


@pytest.fixture
def hub() -> EventHub:
    return EventHub()


Serve = Callable[..., LiveServer]


@pytest.fixture
def serve(store: AlertStore, hub: EventHub) -> Iterator[Serve]:
    """Starts the app on a real server; stopped at the end of the test."""
    with contextlib.ExitStack() as stack:

        def start(
            health: Callable[[], HealthReport] | None = None, bridge: ZmqEventBridge | None = None
        ) -> LiveServer:
            app = create_app(store, hub, health, title="custodywatch test", bridge=bridge)
            return stack.enter_context(LiveServer(app, hub))

        yield start


@pytest.fixture
def client(serve: Serve) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=serve().url, timeout=5) as client:
        yield client
