"""Alerts and camera health reach a centre's alarm system over MQTT (the real Mosquitto broker, a real
paho subscriber), and keep doing so across a lost link: last will, reconnect, queued alerts."""
from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import zmq
from api_accounts import OPERATOR
from conftest import Serve, TokenFor
from live_server import LiveServer
from mqtt_listener import BROKER, MqttListener, clear_retained, unique_prefix
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from tcp_proxy import TcpProxy

from custodywatch.api import events as events_module
from custodywatch.api.app import create_app
from custodywatch.api.events import EventHub, ZmqEventBridge
from custodywatch.api.mqtt_publisher import MqttPublisher
from custodywatch.api.schemas import CameraHealth, HealthReport, StoreHealth
from custodywatch.config import MqttConfig, parse_config
from custodywatch.rules.events import AlertEvent
from custodywatch.store.accounts import Role
from custodywatch.store.alerts import AlertStore
from custodywatch.vocabulary import RuleId, Severity

SITE, BOX = "zh-center", "box1"
T0 = 1_700_000_000.0


@pytest.fixture
def prefix() -> Iterator[str]:
    prefix = unique_prefix()
    yield prefix
    clear_retained(prefix)


class Analytics:
    """Stands in for the analytics process: commits an alert to the store, then announces it over
    ZMQ to the API's bridge, as the real one does."""

    def __init__(self, store: AlertStore, endpoint: str, heard: threading.Event):
        self._store = store
        self._heard = heard
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.PUB)
        self._socket.connect(endpoint)

    def wait_until_heard(self) -> None:
        deadline = time.monotonic() + 5
        # PUB drops what it sends before the connection is up: repeat until the bridge hears.
        while not self._heard.wait(0.05):
            assert time.monotonic() < deadline, "the bridge never received a message"
            self._socket.send_json({"type": "health", "processes": {"analytics": True}, "cameras": {}})

    def fire(self, alert_id: str, at: float = T0 + 60) -> None:
        event = AlertEvent("fired", alert_id, RuleId.GUARD_ABSENT, "holding-1", "cam-h1", Severity.ALARM,
                           T0, at)
        self._store.apply(event)
        self._socket.send_json({"type": "alert", "event": event.to_dict()})

    def close(self) -> None:
        self._socket.close(linger=0)
        self._context.term()


@dataclass
class Box:
    server: LiveServer
    publisher: MqttPublisher
    analytics: Analytics
    box_status: str
    alerts: str
    cameras: dict[str, CameraHealth] = field(default_factory=dict)
    health: dict[str, Any] = field(default_factory=dict)  # more of the health report: down, store, ...

    def metric(self, name: str) -> float:
        text = httpx.get(f"{self.server.url}/metrics", timeout=5).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name:
                    return sample.value
        raise AssertionError(f"{name} is not in /metrics")


StartBox = Callable[..., Box]


@pytest.fixture
def start_box(tmp_path: Path, engine: Engine, store: AlertStore, hub: EventHub, prefix: str,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[StartBox]:
    """Serves the app with an MQTT publisher (to `port`: the broker, or a proxy in front of it) and a
    bridge the stand-in analytics process talks to; camera health comes from `Box.cameras` (starting
    as `cameras`)."""
    monkeypatch.setattr(events_module, "HEALTH_POLL_S", 0.05)
    with contextlib.ExitStack() as stack:

        def start(port: int = BROKER[1], queue_max: int = 10000,
                  cameras: dict[str, CameraHealth] | None = None) -> Box:
            settings = MqttConfig(host=BROKER[0], port=port, topic_prefix=prefix, queue_max=queue_max,
                                  client_id=f"cw-{uuid.uuid4().hex[:12]}")
            publisher = MqttPublisher(settings, SITE, BOX, reconnect_max_s=1)
            cameras = dict(cameras or {})
            more: dict[str, Any] = {}
            heard = threading.Event()
            endpoint = f"ipc://{tmp_path / f'events-{uuid.uuid4().hex[:6]}.sock'}"
            bridge = ZmqEventBridge(hub, store, endpoint, on_health=lambda _report: heard.set())
            app = create_app(store, hub, lambda: HealthReport.model_validate(
                                 {"processes": {"api": True}, "cameras": dict(cameras), **more}),
                             engine=engine, bridge=bridge, mqtt=publisher)
            server = stack.enter_context(LiveServer(app, hub))
            analytics = Analytics(store, endpoint, heard)
            stack.callback(analytics.close)
            analytics.wait_until_heard()
            return Box(server, publisher, analytics, publisher.topics.box_status, publisher.topics.alerts,
                       cameras, more)

        yield start


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 5) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def test_an_alert_reaches_the_alerts_topic_at_qos_1_as_the_api_shows_it(
    prefix: str, start_box: StartBox, token_for: TokenFor
) -> None:
    with MqttListener(prefix) as alarm_system:
        box = start_box()
        assert alarm_system.take(box.box_status).payload == "online"
        box.analytics.fire("g1")
        fired = alarm_system.take(box.alerts)
        with httpx.Client(base_url=box.server.url, timeout=5,
                          headers=token_for(OPERATOR, Role.WATCH_DESK)) as client:
            assert client.post("/api/alerts/g1/acknowledge", json={}).status_code == 200
            shown = client.get("/api/alerts/g1").json()
        acknowledged = alarm_system.take(box.alerts)

    assert box.alerts == f"{prefix}/{SITE}/alerts"
    assert (fired.qos, fired.retain) == (1, False)
    alert = json.loads(fired.payload)
    assert (alert["change"], alert["id"], alert["rule"], alert["room"], alert["camera"], alert["severity"],
            alert["state"]) == ("fired", "g1", "guard_absent", "holding-1", "cam-h1", "alarm", "new")
    assert (alert["condition_started_at_epoch"], alert["fired_at_epoch"]) == (T0, T0 + 60)
    after = json.loads(acknowledged.payload)
    assert (after["change"], after["state"], after["acknowledged_by"]) == (
        "acknowledged", "acknowledged", OPERATOR)
    assert {k: v for k, v in after.items() if k != "change"} == shown


def test_camera_status_is_retained_for_a_subscriber_that_connects_later(
    prefix: str, start_box: StartBox
) -> None:
    box = start_box(cameras={"cam-h1": CameraHealth(connected=True, fps_in=2, fps_analysed=2, dropped=0)})
    topic = f"{prefix}/{SITE}/cam-h1/status"
    with MqttListener(prefix) as watcher:
        first = watcher.take(topic)
        box.cameras["cam-h1"] = CameraHealth(connected=False, fps_in=0, fps_analysed=0, dropped=3,
                                             reconnects=1)
        dropped = watcher.take(topic)
    with MqttListener(prefix) as late:
        retained = late.take(topic)

    assert json.loads(first.payload)["status"] == "online"
    assert dropped.qos == 1
    status = json.loads(dropped.payload)
    assert (status["camera"], status["status"], status["connected"], status["reconnects"]) == (
        "cam-h1", "offline", False, 1)
    assert retained.retain and json.loads(retained.payload) == status


def test_the_box_health_reaches_the_centre_and_is_retained(prefix: str, start_box: StartBox) -> None:
    box = start_box()
    topic = f"{prefix}/{SITE}/{BOX}/health"
    with MqttListener(prefix) as centre:
        first = json.loads(centre.take(topic).payload)
        # The database stops taking alerts: two wait on the box, and nothing reaches the page.
        box.health["store"] = StoreHealth(reachable=False, alert_events_waiting=2,
                                          waiting_by_process={"analytics": 2})
        box.health["processes"] = {"api": True, "detector-0": False}
        box.health["down"] = ["detector-0"]
        raised = json.loads(centre.take(topic).payload)
    with MqttListener(prefix) as late:
        retained = late.take(topic)

    assert (first["box"], first["severity"], first["down"], first["store"]) == (BOX, "ok", [], None)
    assert (raised["severity"], raised["down"], raised["healthy"]) == ("alarm", ["detector-0"], False)
    assert (raised["store"]["reachable"], raised["store"]["alert_events_waiting"]) == (False, 2)
    assert retained.retain and json.loads(retained.payload) == raised


def test_a_lost_link_brings_the_last_will_and_a_restored_one_online_again(
    prefix: str, start_box: StartBox
) -> None:
    with TcpProxy(*BROKER) as proxy, MqttListener(prefix) as alarm_system:
        box = start_box(port=proxy.port)
        assert alarm_system.take(box.box_status).payload == "online"
        proxy.cut()  # the box's connection dies without a goodbye: the broker sends its will
        will = alarm_system.take(box.box_status)
        wait_until(lambda: not box.publisher.connected, "the publisher sees the link is gone")
        assert box.metric("custodywatch_mqtt_connected") == 0
        proxy.restore()
        back = alarm_system.take(box.box_status, timeout_s=10)
        wait_until(lambda: box.metric("custodywatch_mqtt_connected") == 1, "/metrics shows the link back")
        with MqttListener(prefix) as late:
            retained = late.take(box.box_status)

    assert (will.payload, back.payload) == ("offline", "online")
    assert (retained.payload, retained.retain) == ("online", True)


def test_alerts_raised_while_the_broker_is_unreachable_arrive_once_each_when_it_returns(
    prefix: str, start_box: StartBox
) -> None:
    with TcpProxy(*BROKER) as proxy, MqttListener(prefix) as alarm_system:
        box = start_box(port=proxy.port)
        alarm_system.take(box.box_status)
        proxy.cut()
        wait_until(lambda: not box.publisher.connected, "the publisher sees the link is gone")
        for alert_id in ("q1", "q2", "q3"):
            box.analytics.fire(alert_id)
        wait_until(lambda: box.metric("custodywatch_mqtt_queued") == 3, "/metrics counts 3 queued")
        assert alarm_system.on(box.alerts) == []
        proxy.restore()
        arrived = [json.loads(alarm_system.take(box.alerts, timeout_s=10).payload)["id"] for _ in range(3)]
        wait_until(lambda: box.metric("custodywatch_mqtt_queued") == 0, "the queue is empty")
        time.sleep(0.5)  # room for a duplicate to show up
        everything = [json.loads(m.payload)["id"] for m in alarm_system.on(box.alerts)]

    assert arrived == ["q1", "q2", "q3"]
    assert everything == arrived


def test_alerts_beyond_a_full_queue_are_dropped_and_counted(prefix: str, start_box: StartBox) -> None:
    with TcpProxy(*BROKER) as proxy, MqttListener(prefix) as alarm_system:
        proxy.cut()  # the broker is unreachable from the start: nothing is sent, all is queued
        # Room for three: the box's health (published at start) and two alerts.
        box = start_box(port=proxy.port, queue_max=3)
        for alert_id in ("d1", "d2", "d3"):
            box.analytics.fire(alert_id)
        wait_until(lambda: box.metric("custodywatch_mqtt_dropped_total") == 1, "/metrics counts 1 dropped")
        assert box.metric("custodywatch_mqtt_queued") == 3
        proxy.restore()
        arrived = [json.loads(alarm_system.take(box.alerts, timeout_s=10).payload)["id"] for _ in range(2)]
        # A queue full of alerts does not keep the box from announcing itself.
        status = alarm_system.take(box.box_status)
        wait_until(lambda: box.metric("custodywatch_mqtt_queued") == 0, "the queue is empty")
        assert box.metric("custodywatch_mqtt_dropped_total") == 1

    assert arrived == ["d1", "d2"]
    assert status.payload == "online"


def test_a_clean_stop_says_offline(prefix: str, start_box: StartBox) -> None:
    with MqttListener(prefix) as alarm_system:
        box = start_box()
        alarm_system.take(box.box_status)
        box.server.stop()
        goodbye = alarm_system.take(box.box_status)
    with MqttListener(prefix) as late:
        retained = late.take(box.box_status)

    assert goodbye.payload == "offline"
    assert (retained.payload, retained.retain) == ("offline", True)


def test_the_admin_config_page_shows_the_mqtt_section_without_its_password(
    serve: Serve, token_for: TokenFor
) -> None:
    cfg = parse_config("site: {id: zh-center}\nrooms: [{id: corridor-1, type: corridor}]\n"
                       "cameras: [{id: cam-c1, room: corridor-1, detect_url: c.mp4}]\n"
                       "mqtt: {host: broker.local, username: alarm, password: s3cret-pw}\n")
    server = serve(config=cfg)
    response = httpx.get(f"{server.url}/api/config", headers=token_for("boss", Role.ADMIN), timeout=5)
    assert response.status_code == 200
    assert (response.json()["mqtt"]["host"], response.json()["mqtt"]["username"]) == ("broker.local", "alarm")
    assert "s3cret-pw" not in response.text
