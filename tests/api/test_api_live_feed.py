"""The live feed beyond alerts: camera health as it changes, and a stream that ends with its
session."""
from __future__ import annotations

import json
import time

import httpx
import pytest
from conftest import Serve
from live_server import SseReader

from custodywatch.api import events as events_module
from custodywatch.api.routers import events as events_router
from custodywatch.api.schemas import CameraHealth, HealthReport
from custodywatch.store.accounts import AccountStore


def report(connected: bool) -> HealthReport:
    return HealthReport(processes={"api": True}, cameras={
        "cam-i1": CameraHealth(connected=connected, fps_in=2.0, fps_analysed=2.0, dropped=0)})


def test_a_camera_that_drops_is_pushed_to_the_watch_desk(
    serve: Serve, auth_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_module, "HEALTH_POLL_S", 0.05)
    now = {"connected": True}
    server = serve(health=lambda: report(now["connected"]))
    with httpx.Client(base_url=server.url, timeout=5, headers=auth_headers) as client, \
            client.stream("GET", "/api/events") as response:
        stream = SseReader(response)
        assert stream.next().event == "reset"
        time.sleep(0.2)  # the feed has seen the camera connected
        now["connected"] = False
        event = stream.next()
    assert event.event == "health"
    assert json.loads(event.data)["cameras"]["cam-i1"]["connected"] is False


def test_logging_out_ends_an_open_event_stream(
    serve: Serve, auth_headers: dict[str, str], accounts: AccountStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_router, "SESSION_CHECK_S", 0.1)
    server = serve()
    with httpx.Client(base_url=server.url, timeout=5, headers=auth_headers) as client, \
            client.stream("GET", "/api/events") as response:
        stream = SseReader(response)
        assert stream.next().event == "reset"
        accounts.logout(auth_headers["Authorization"].removeprefix("Bearer "))
        started = time.monotonic()
        with pytest.raises(EOFError):
            stream.next()
    assert time.monotonic() - started < 2
