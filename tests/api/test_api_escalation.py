"""An alert nobody acknowledges is announced again, escalated to the second list of users."""
from __future__ import annotations

import json
import time

import httpx
import pytest
from conftest import Serve
from live_server import SseReader
from sqlalchemy import Engine

from custodywatch.api import escalation as escalation_module
from custodywatch.api.escalation import Escalator
from custodywatch.api.events import EventHub
from custodywatch.rules.events import AlertEvent
from custodywatch.store.alerts import AlertStore
from custodywatch.vocabulary import RuleId, Severity


def fire(store: AlertStore, alert_id: str, at: float) -> None:
    store.apply(AlertEvent("fired", alert_id, RuleId.UNATTENDED_DETAINEE, "interrogation-1", "cam-i1",
                           Severity.ALARM, at - 30, at))


def test_every_after_s_unacknowledged_alerts_are_announced_again_once(
    store: AlertStore, hub: EventHub
) -> None:
    now = [10_000.0]
    escalator = Escalator(store, hub, after_s=300, escalate_to=["duty-officer"], clock=lambda: now[0])
    fire(store, "old", 10_000 - 301)
    fire(store, "fresh", 10_000 - 10)
    fire(store, "seen", 10_000 - 400)
    store.acknowledge("seen", "officer-li")

    first = escalator.due()
    assert [(e.alert.id, e.count, e.notify) for e in first] == [("old", 1, ["duty-officer"])]
    assert escalator.due() == [], "announced once per interval, not at every check"
    now[0] += 300
    assert sorted((e.alert.id, e.count) for e in escalator.due()) == [("fresh", 1), ("old", 2)]


def test_a_box_escalates_its_own_alerts_not_those_of_another_box_on_a_shared_database(
    engine: Engine, store: AlertStore, hub: EventHub
) -> None:
    other_box = AlertStore(engine, "zh-center", "box2")
    fire(store, "ours", 10_000 - 301)
    fire(other_box, "theirs", 10_000 - 301)
    escalator = Escalator(store, hub, after_s=300, clock=lambda: 10_000.0)
    assert [e.alert.id for e in escalator.due()] == ["ours"]
    # The other box's escalator announces its own.
    assert [e.alert.id for e in Escalator(other_box, hub, after_s=300, clock=lambda: 10_000.0).due()] == [
        "theirs"]


def test_an_escalation_reaches_open_pages_on_the_live_feed(
    store: AlertStore, hub: EventHub, serve: Serve, auth_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(escalation_module, "POLL_S", 0.05)
    fire(store, "old", time.time() - 58)  # due in 2 s: after the page below has connected
    server = serve(escalator=Escalator(store, hub, after_s=60, escalate_to=["duty-officer"]))
    with httpx.Client(base_url=server.url, timeout=5, headers=auth_headers) as client, \
            client.stream("GET", "/api/events") as response:
        stream = SseReader(response)
        event = stream.next()
        if event.event == "reset":
            event = stream.next()
    assert event.event == "escalation"
    data = json.loads(event.data)
    assert (data["alert"]["id"], data["count"], data["notify"]) == ("old", 1, ["duty-officer"])
