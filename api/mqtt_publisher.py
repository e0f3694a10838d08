"""Alerts, camera health and the box's own health to MQTT, for the alarm systems a centre has.

Topics (`<prefix>` is `mqtt.topic_prefix`):
- `<prefix>/<site>/alerts`: every alert change (fired, escalated, ended, acknowledged, resolved) as
  JSON, the API's alert view plus `change`; not retained: each message is an event.
- `<prefix>/<site>/<camera>/status`: the camera's health as JSON, retained, published at start and
  whenever the camera connects or drops.
- `<prefix>/<site>/<box>/status`: `online` (retained) on every connect; `offline` (retained) as the
  last will, so the broker announces a box that dies or loses its link, and on a clean shutdown.
- `<prefix>/<site>/<box>/health`: the box's own state as JSON, retained, published at start and
  whenever it changes in a way an on-call engineer must hear of: `severity` (`ok`, `warning`,
  `alarm`), processes `down` (given up on) and `restarting`, the box health checks raised (disk,
  days of archive left, clock, ...) and the database as the box sees it (`store`: alert events
  waiting for it).

While the broker is unreachable, messages wait in paho's own outgoing queue, which it sends in order
once it has reconnected (resending any that were not acknowledged: at least once). That queue is
used rather than one of our own because it already carries the message ids and the resend logic a
QoS 1 delivery needs. Alerts are bounded by `mqtt.queue_max`: one beyond it is dropped, logged and
counted. Status messages may go `STATUS_RESERVE` beyond it (paho's own hard limit), so that a queue
full of alerts never keeps the box from saying `online` when the broker returns. The queue lives
in memory: what is queued when the process stops never reaches MQTT, but the alerts themselves stay
in the store. With QoS 0 nothing is queued: a message sent while the broker is unreachable is
dropped and counted.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from custodywatch.api.events import ALERT, HEALTH, RESET, EventHub, HubEvent
from custodywatch.api.schemas import AlertUpdate, CameraHealth, HealthReport
from custodywatch.config import MqttConfig

log = logging.getLogger(__name__)

ONLINE = "online"
OFFLINE = "offline"
SHUTDOWN_WAIT_S = 2.0
STATUS_RESERVE = 1000


class MqttSetupError(Exception):
    """The client cannot be set up from the config (e.g. a TLS file that is not a certificate)."""


@dataclass(frozen=True)
class MqttTopics:
    prefix: str
    site: str
    box: str

    @property
    def alerts(self) -> str:
        return f"{self.prefix}/{self.site}/alerts"

    @property
    def box_status(self) -> str:
        return f"{self.prefix}/{self.site}/{self.box}/status"

    @property
    def box_health(self) -> str:
        return f"{self.prefix}/{self.site}/{self.box}/health"

    def camera_status(self, camera: str) -> str:
        return f"{self.prefix}/{self.site}/{camera}/status"


def alert_payload(update: AlertUpdate) -> str:
    return json.dumps({"change": update.change.value, **update.alert.model_dump(mode="json")})


def box_health_payload(box: str, report: HealthReport) -> str:
    """The parts of the health report that need a person, not the figures that change all the time."""
    down = set(report.down)
    raised = [] if report.box is None else [
        {"check": c.check, "severity": c.severity, "value": c.value, "limit": c.limit}
        for c in report.box.checks if c.raised]
    return json.dumps({
        "box": box, "severity": report.severity, "healthy": report.healthy, "down": sorted(down),
        "restarting": sorted(n for n, alive in report.processes.items() if not alive and n not in down),
        "checks_raised": raised,
        "store": None if report.store is None else report.store.model_dump(mode="json"),
    })


def camera_payload(camera: str, health: CameraHealth) -> str:
    status = ONLINE if health.connected else OFFLINE
    return json.dumps({"camera": camera, "status": status, **health.model_dump(mode="json")})


class MqttPublisher:
    """Publishes the live feed's alerts and camera health while `running`; reconnects by itself.

    The paho client runs in its own thread, and its callbacks (connect, disconnect, acknowledgement)
    run there: the counters and the last camera statuses they share with the event loop are under
    a lock.
    """

    def __init__(self, settings: MqttConfig, site_id: str, box_id: str, *, reconnect_max_s: int = 30):
        self.topics = MqttTopics(settings.topic_prefix, site_id, box_id)
        self._qos = settings.qos
        self._queue_max = settings.queue_max
        self._lock = threading.Lock()
        self._connected = False
        self._stopping = False
        self._unacknowledged = 0
        self._dropped = 0
        self._camera_connected: dict[str, bool] = {}
        self._camera_status: dict[str, str] = {}  # camera -> last payload, sent again on reconnect
        self._box_health: str | None = None  # the last box health payload, sent again on reconnect
        self._client = self._make_client(settings, settings.client_id or f"custodywatch-{site_id}-{box_id}",
                                         reconnect_max_s)

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def queued(self) -> int:
        """Messages the broker has not acknowledged yet: waiting for it to return, or in flight."""
        with self._lock:
            return self._unacknowledged

    @property
    def dropped(self) -> int:
        """Messages given up: the queue was full (or, with QoS 0, the broker unreachable)."""
        with self._lock:
            return self._dropped

    @contextlib.asynccontextmanager
    async def running(self, hub: EventHub, health: Callable[[], HealthReport]) -> AsyncIterator[None]:
        """Connects (in paho's thread: an unreachable broker never holds up the start) and forwards
        the hub's alerts and health changes while inside; on leaving publishes `offline`."""
        self._client.loop_start()
        forward = asyncio.create_task(self._forward(hub, health))
        try:
            yield
        finally:
            forward.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forward
            await asyncio.to_thread(self._close)

    # ---- the event loop's side -----------------------------------------------------------------

    async def _forward(self, hub: EventHub, health: Callable[[], HealthReport]) -> None:
        last_seq: int | None = None
        first = True
        while not hub.closed:
            # A subscription ends when it falls too far behind; the next resumes where it stopped.
            with hub.subscribe(last_seq) as events:
                if first:
                    first = False
                    await self._publish_current_health(health)
                async for event in events:
                    if event.kind == RESET:
                        if last_seq is not None:
                            log.warning("MQTT: fell behind the live feed; some alert changes were not sent")
                        continue
                    last_seq = event.seq
                    try:
                        self._publish_event(event)
                    except Exception:
                        log.exception("MQTT: could not publish a %s event", event.kind)

    async def _publish_current_health(self, health: Callable[[], HealthReport]) -> None:
        try:
            report = await asyncio.to_thread(health)
        except Exception:
            log.exception("MQTT: could not read the box's health")
            return
        self._publish_health(report)

    def _publish_event(self, event: HubEvent) -> None:
        if event.kind == ALERT:
            payload = alert_payload(AlertUpdate.model_validate_json(event.data))
            self._publish(self.topics.alerts, payload, bounded=True)
        elif event.kind == HEALTH:
            self._publish_health(HealthReport.model_validate_json(event.data))

    def _publish_health(self, report: HealthReport) -> None:
        box = box_health_payload(self.topics.box, report)
        if box != self._box_health:
            with self._lock:
                self._box_health = box
            self._publish(self.topics.box_health, box, retain=True)
        for camera, health in sorted(report.cameras.items()):
            if self._camera_connected.get(camera) == health.connected:
                continue
            self._camera_connected[camera] = health.connected
            payload = camera_payload(camera, health)
            with self._lock:
                self._camera_status[camera] = payload
            self._publish(self.topics.camera_status(camera), payload, retain=True)

    # ---- both sides ----------------------------------------------------------------------------

    def _publish(self, topic: str, payload: str, *, retain: bool = False,
                 bounded: bool = False) -> paho.MQTTMessageInfo | None:
        """Hands a message to paho; None when it was dropped. A `bounded` one is dropped when
        `queue_max` messages are waiting already."""
        counted = self._qos > 0
        if counted:
            with self._lock:
                full = bounded and self._unacknowledged >= self._queue_max
                if not full:
                    # Counted before the call: the broker's acknowledgement may come before it returns.
                    self._unacknowledged += 1
            if full:
                self._drop(topic, "the queue is full")
                return None
        info = self._client.publish(topic, payload, qos=self._qos, retain=retain)
        queued = info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS or (
            counted and info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN)  # held until the broker is back
        if queued:
            return info
        if counted:
            with self._lock:
                self._unacknowledged -= 1
        self._drop(topic, paho.error_string(info.rc))
        return None

    def _drop(self, topic: str, why: str) -> None:
        with self._lock:
            self._dropped += 1
            dropped = self._dropped
        log.warning("MQTT: dropped a message to %s (%s; %d dropped so far)", topic, why, dropped)

    # ---- paho's thread -------------------------------------------------------------------------

    def _make_client(self, settings: MqttConfig, client_id: str, reconnect_max_s: int) -> paho.Client:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=MQTTProtocolVersion.MQTTv311, clean_session=True)
        if settings.username is not None:
            password = None if settings.password is None else settings.password.get_secret_value()
            client.username_pw_set(settings.username, password)
        if settings.tls is not None:
            try:
                client.tls_set(ca_certs=settings.tls.ca_file, certfile=settings.tls.cert_file,
                               keyfile=settings.tls.key_file)
            except (OSError, ssl.SSLError) as exc:
                raise MqttSetupError(f"mqtt.tls: cannot load the certificate files: {exc}") from None
        client.will_set(self.topics.box_status, OFFLINE, qos=self._qos, retain=True)
        client.max_queued_messages_set(settings.queue_max + STATUS_RESERVE)
        client.reconnect_delay_set(min(1, reconnect_max_s), reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.connect_async(settings.host, settings.port, keepalive=settings.keepalive_s)
        return client

    def _on_connect(self, _client: paho.Client, _userdata: Any, _flags: paho.ConnectFlags,
                    reason: ReasonCode, _properties: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT: the broker refused the connection: %s", reason)
            return
        log.info("MQTT: connected to the broker")
        self._connected = True
        self._publish(self.topics.box_status, ONLINE, retain=True)
        # Retained already, unless the broker lost them (restarted without persistence).
        with self._lock:
            statuses = list(self._camera_status.items())
        for camera, payload in statuses:
            self._publish(self.topics.camera_status(camera), payload, retain=True)
        with self._lock:
            box_health = self._box_health
        if box_health is not None:
            self._publish(self.topics.box_health, box_health, retain=True)

    def _on_disconnect(self, _client: paho.Client, _userdata: Any, _flags: paho.DisconnectFlags,
                       reason: ReasonCode, _properties: Any) -> None:
        was_connected, self._connected = self._connected, False
        if was_connected and not self._stopping:
            log.warning("MQTT: lost the broker (%s); reconnecting", reason)

    def _on_publish(self, _client: paho.Client, _userdata: Any, _mid: int, _reason: ReasonCode,
                    _properties: Any) -> None:
        if self._qos > 0:
            with self._lock:
                self._unacknowledged = max(0, self._unacknowledged - 1)

    def _close(self) -> None:
        info = self._publish(self.topics.box_status, OFFLINE, retain=True)
        if self._connected and info is not None:
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=SHUTDOWN_WAIT_S)
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()
