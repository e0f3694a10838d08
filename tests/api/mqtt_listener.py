"""A real MQTT subscriber on the shared broker, as a centre's alarm system would be, and the clean-up of
what a test leaves retained there."""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

BROKER = ("127.0.0.1", 1883)


def unique_prefix() -> str:
    """A topic prefix no other test (or parallel run) publishes under."""
    return f"cwtest-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Received:
    topic: str
    payload: str
    qos: int
    retain: bool


class MqttListener:
    """Subscribes to everything under `prefix` at QoS 1 and keeps what arrives, in order."""

    def __init__(self, prefix: str):
        self._filter = f"{prefix}/#"
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"listener-{uuid.uuid4().hex[:12]}")
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._received: list[Received] = []
        self._taken: dict[str, int] = {}  # topic -> how many of its messages `take` has handed out
        self._changed = threading.Condition()
        self._subscribed = threading.Event()

    def __enter__(self) -> MqttListener:
        self._client.connect(*BROKER)
        self._client.loop_start()
        if not self._subscribed.wait(5):
            self.close()
            raise TimeoutError(f"could not subscribe to {self._filter} on {BROKER}")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def on(self, topic: str) -> list[Received]:
        """Everything received on `topic` so far."""
        with self._changed:
            return [m for m in self._received if m.topic == topic]

    def take(self, topic: str, timeout_s: float = 5) -> Received:
        """The next message on `topic` not taken yet, waiting for it up to `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                on_topic = [m for m in self._received if m.topic == topic]
                index = self._taken.get(topic, 0)
                if index < len(on_topic):
                    self._taken[topic] = index + 1
                    return on_topic[index]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"nothing (more) on {topic} within {timeout_s} s; "
                                       f"got {[(m.topic, m.payload[:60]) for m in self._received]}")
                self._changed.wait(left)

    def retained_topics(self) -> set[str]:
        with self._changed:
            return {m.topic for m in self._received if m.retain}

    def clear_retained(self, topic: str) -> None:
        """An empty retained message deletes the one the broker keeps on `topic`."""
        self._client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)

    def _on_connect(self, client: paho.Client, _userdata: Any, _flags: Any, _reason: Any,
                    _props: Any) -> None:
        client.subscribe(self._filter, qos=1)

    def _on_subscribe(self, _client: paho.Client, _userdata: Any, _mid: int, _reasons: Any,
                      _props: Any) -> None:
        self._subscribed.set()

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        received = Received(message.topic, message.payload.decode(), message.qos, bool(message.retain))
        with self._changed:
            self._received.append(received)
            self._changed.notify_all()


def clear_retained(prefix: str, settle_s: float = 0.3) -> None:
    """Removes every retained message under `prefix` from the shared broker (an empty retained
    message deletes one), so tests leave nothing behind."""
    with MqttListener(prefix) as listener:
        time.sleep(settle_s)  # retained messages arrive right after the subscription
        for topic in sorted(listener.retained_topics()):
            listener.clear_retained(topic)
