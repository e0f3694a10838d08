"""The live feed over a real HTTP server: what a browser's EventSource sees."""
from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import zmq
from conftest import Serve
from live_server import SseReader
from sqlalchemy import Engine

from custodywatch.api.app import create_app
from custodywatch.api.events import EventHub, ZmqEventBridge
from custodywatch.api.schemas import HealthReport
from custodywatch.rules.events import AlertEvent, EventKind
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine
from custodywatch.vocabulary import RuleId, Severity

T0 = 1_700_000_000.0


def alert_event(kind: EventKind, alert_id: str, at: float, severity: Severity = Severity.ALARM) -> AlertEvent:
    return AlertEvent(kind, alert_id, RuleId.GUARD_ABSENT, "holding-1", "cam-h1", severity, T0, at)


@contextlib.contextmanager
def open_stream(client: httpx.Client, last_event_id: str | None = None) -> Iterator[SseReader]:
    headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
    with client.stream("GET", "/api/events", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseReader(response)


@pytest.fixture
def two_alerts(store: AlertStore) -> AlertStore:
    store.apply(alert_event("fired", "a1", T0 + 60, Severity.WARNING))
    store.apply(alert_event("fired", "a2", T0 + 90))
    return store


def test_operator_actions_stream_live_and_a_reconnect_resumes_from_last_event_id(
    two_alerts: AlertStore, serve: Serve, auth_headers: dict[str, str]
) -> None:
    with httpx.Client(base_url=serve().url, timeout=5, headers=auth_headers) as client:
        with open_stream(client) as stream:
            reset = stream.next()
            assert reset.event == "reset"
            client.post("/api/alerts/a1/acknowledge")
            acknowledged = stream.next()
        assert acknowledged.event == "alert"
        assert int(acknowledged.id or 0) == int(reset.id or 0) + 1
        update = json.loads(acknowledged.data)
        assert (update["change"], update["alert"]["id"], update["alert"]["state"]) == ("acknowledged", "a1",
                                                                                        "acknowledged")

        # While the page is disconnected:
        client.post("/api/alerts/a1/resolve", json={"comment": "guard back at post"})
        client.post("/api/alerts/a2/acknowledge")

        with open_stream(client, last_event_id=acknowledged.id) as stream:
            missed = [stream.next(), stream.next()]
        last_seen = int(acknowledged.id or 0)
        assert [int(e.id or 0) for e in missed] == [last_seen + 1, last_seen + 2]
        assert [(json.loads(e.data)["change"], json.loads(e.data)["alert"]["id"]) for e in missed] == [
            ("resolved", "a1"), ("acknowledged", "a2"),
        ]

        with open_stream(client, last_event_id="1") as stream:
            assert stream.next().event == "reset"


def sse_clients(client: httpx.Client) -> float:
    lines = client.get("/metrics").text.splitlines()
    return float(next(ln for ln in lines if ln.startswith("custodywatch_sse_clients ")).split()[1])


def test_a_closed_stream_stops_counting_as_a_client(serve: Serve, auth_headers: dict[str, str]) -> None:
    with httpx.Client(base_url=serve().url, timeout=5, headers=auth_headers) as client:
        with open_stream(client) as stream:
            stream.next()
            assert sse_clients(client) == 1
        deadline = time.monotonic() + 5
        while sse_clients(client) != 0:
            assert time.monotonic() < deadline, "the server kept the closed stream subscribed"
            time.sleep(0.05)


def test_stopping_the_server_ends_open_streams_promptly(serve: Serve, auth_headers: dict[str, str]) -> None:
    server = serve()
    with httpx.Client(base_url=server.url, timeout=5, headers=auth_headers) as client, \
            open_stream(client) as stream:
        stream.next()
        started = time.monotonic()
        server.stop(within_s=3)
        with pytest.raises(EOFError):
            stream.next()
    assert time.monotonic() - started < 3


def test_an_alert_committed_and_published_by_analytics_reaches_the_stream(
    tmp_path: Path, db_url: str, store: AlertStore, hub: EventHub, serve: Serve, auth_headers: dict[str, str]
) -> None:
    endpoint = f"ipc://{tmp_path / 'events.sock'}"
    reports: list[HealthReport] = []
    reported = threading.Event()

    def on_health(report: HealthReport) -> None:
        reports.append(report)
        reported.set()

    server = serve(bridge=ZmqEventBridge(hub, store, endpoint, on_health=on_health))
    # The analytics process: its own engine on the same database, a PUB socket to the API.
    analytics_engine = make_engine(db_url)
    analytics = AlertStore(analytics_engine, "zh-center", "box1")
    context = zmq.Context()
    publisher = context.socket(zmq.PUB)
    publisher.connect(endpoint)
    try:
        with httpx.Client(base_url=server.url, timeout=5, headers=auth_headers) as client, \
                open_stream(client) as stream:
            assert stream.next().event == "reset"
            deadline = time.monotonic() + 5
            # PUB drops what it sends before the connection is up: repeat until the bridge hears.
            while not reported.wait(0.05):
                assert time.monotonic() < deadline, "the bridge never received a message"
                publisher.send_json({"type": "health", "processes": {"analytics": True}, "cameras": {}})
            assert reports[0].processes == {"analytics": True}

            # Malformed messages and an alert that was never committed are skipped, not fatal.
            publisher.send(b"not json")
            publisher.send_json({"type": "alert", "event": {"kind": "fired"}})
            publisher.send_json({"type": "alert", "event": alert_event("fired", "uncommitted", T0).to_dict()})

            fired = alert_event("fired", "g1", T0 + 60, Severity.WARNING)
            analytics.apply(fired)
            publisher.send_json({"type": "alert", "event": fired.to_dict()})
            first = stream.next()

            escalated = alert_event("escalated", "g1", T0 + 120)
            analytics.apply(escalated)
            publisher.send_json({"type": "alert", "event": escalated.to_dict()})
            second = stream.next()
    finally:
        publisher.close(linger=0)
        context.term()
        analytics_engine.dispose()

    assert (first.event, second.event) == ("alert", "alert")
    assert int(second.id or 0) == int(first.id or 0) + 1
    created, escalation = json.loads(first.data), json.loads(second.data)
    assert created["change"] == "fired"
    assert (created["alert"]["id"], created["alert"]["rule"], created["alert"]["severity"]) == (
        "g1", "guard_absent", "warning",
    )
    assert created["alert"]["fired_at_epoch"] == T0 + 60
    assert (escalation["change"], escalation["alert"]["severity"]) == ("escalated", "alarm")


@pytest.mark.anyio
async def test_the_app_does_not_start_when_the_bridge_cannot_bind(
    engine: Engine, store: AlertStore, hub: EventHub
) -> None:
    app = create_app(store, hub, engine=engine, bridge=ZmqEventBridge(hub, store, "tcp://no-such-interface:5555"))
    with pytest.raises(zmq.ZMQError):
        async with app.router.lifespan_context(app):
            pass
