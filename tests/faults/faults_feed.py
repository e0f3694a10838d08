"""The fault tests' watch desk: the real API (with the feed journal and the ZMQ bridge) on a real
uvicorn server in a thread, the real analytics component in a thread, and an SSE client that
records every event it reads."""
from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from sqlalchemy import Engine

from custodywatch.api.app import api_only_health, create_app
from custodywatch.api.events import EventHub, ZmqEventBridge
from custodywatch.api.schemas import HealthReport
from custodywatch.api.server import ApiServer
from custodywatch.api.store_status import StoreStatus
from custodywatch.config import Config
from custodywatch.pipeline.analytics import AnalyticsService
from custodywatch.store.accounts import AccountStore, Role
from custodywatch.store.alerts import AlertStore
from custodywatch.store.feed import FeedJournal

PASSWORD = "fault test watch desk password"


def watch_desk_headers(engine: Engine) -> dict[str, str]:
    accounts = AccountStore(engine)
    accounts.add_user("desk", Role.WATCH_DESK, PASSWORD)
    session = accounts.login("desk", PASSWORD)
    assert session is not None
    return {"Authorization": f"Bearer {session.token}"}


class ApiThread:
    """The service's API half: journal-backed hub, bridge bound at `endpoint`, uvicorn."""

    def __init__(self, engine: Engine, endpoint: str, box_id: str = "box1"):
        self.store = AlertStore(engine, "site", box_id)
        self.hub = EventHub(journal=FeedJournal(engine, box_id))
        # What analytics reports of the store, in the health report (as the service wires it).
        self.store_status = StoreStatus()
        app = create_app(self.store, self.hub, engine=engine, health=self._health,
                         bridge=ZmqEventBridge(self.hub, self.store, endpoint,
                                               on_store=self.store_status.update))
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._server = ApiServer(uvicorn.Config(app, log_level="warning", access_log=False), self.hub)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]})

    def _health(self) -> HealthReport:
        return api_only_health().model_copy(update={"store": self.store_status.report()})

    def __enter__(self) -> ApiThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline and self._thread.is_alive(), "uvicorn did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.handle_exit(signal.SIGTERM, None)
        self._thread.join(10)
        assert not self._thread.is_alive(), "uvicorn did not stop"


@dataclass(frozen=True)
class FeedEvent:
    id: int
    event: str
    data: dict[str, Any]
    received: float  # time.time() when read


class FeedClient:
    """Reads /api/events in a thread, as the page's EventSource does, and keeps every event."""

    def __init__(self, base: str, headers: dict[str, str], last_event_id: int | None = None):
        self.events: list[FeedEvent] = []
        self.reconnects = 0
        self._headers = dict(headers)
        if last_event_id is not None:
            self._headers["Last-Event-ID"] = str(last_event_id)
        self._base = base
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read, name="feed-client", daemon=True)

    def __enter__(self) -> FeedClient:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._closed.set()
        self._thread.join(5)

    def _read(self) -> None:
        # Like EventSource: when the stream ends or fails, reconnect with the last id read.
        while not self._closed.is_set():
            headers = dict(self._headers)
            if self.events:
                headers["Last-Event-ID"] = str(self.events[-1].id)
            try:
                self._read_stream(headers)
            except httpx.HTTPError:
                pass
            self.reconnects += 1
            self._closed.wait(1.0)

    def _read_stream(self, headers: dict[str, str]) -> None:
        timeout = httpx.Timeout(10, read=None)
        with httpx.Client(base_url=self._base, timeout=timeout, headers=headers) as client, \
                client.stream("GET", "/api/events") as response:
            if response.status_code != 200:
                return
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if self._closed.is_set():
                    return
                if line == "":
                    if "event" in fields:
                        self.events.append(FeedEvent(int(fields["id"]), fields["event"],
                                                     json.loads(fields.get("data") or "{}"), time.time()))
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")

    def alert_changes(self) -> list[tuple[str, str]]:
        """(alert id, change) of every alert event read, in order."""
        return [(e.data["alert"]["id"], e.data["change"]) for e in self.events if e.event == "alert"]

    def wait_for(self, what: str, condition: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, f"{what} not seen within {timeout_s} s: {self.events}"
            time.sleep(0.1)


class AnalyticsThread:
    """The real analytics component (rules, backlog, store, publisher) in a thread."""

    def __init__(self, config: Config, db_url: str, detections: str, events: str):
        self.service = AnalyticsService(config, db_url, detections, events)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.service.run, args=(self.stop,), name="analytics")

    def __enter__(self) -> AnalyticsThread:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(20)
        assert not self.thread.is_alive(), "analytics did not stop"
