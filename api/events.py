"""The live alert feed: an in-process fan-out for server-sent events, and the bridge that feeds
it from the analytics process.

Every hub event carries a sequence number, the SSE `id:`. A client that reconnects with
Last-Event-ID gets what it missed from a bounded replay buffer; when that is impossible (a first
connection, a gap wider than the buffer, an id from before a restart) it gets a `reset` event,
which tells it to reload the alert list.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType

import zmq
import zmq.asyncio
from pydantic import BaseModel

from custodywatch.api.schemas import AlertUpdate, HealthReport
from custodywatch.rules.events import AlertEvent
from custodywatch.store.alerts import AlertNotFound, AlertStore
from custodywatch.store.views import AlertChange, AlertView

log = logging.getLogger(__name__)

ALERT = "alert"
HEALTH = "health"
RESET = "reset"
HEALTH_POLL_S = 2.0


@dataclass(frozen=True)
class HubEvent:
    seq: int
    kind: str
    data: str  # JSON, serialized once for all subscribers


class Subscription:
    """One subscriber's events in order: a replay (or a reset) first, then live ones.

    Use it as a context manager so that leaving unsubscribes. A subscriber that falls more than the
    replay buffer behind is ended rather than left to grow: it reconnects and resumes.
    """

    def __init__(
        self, first: Iterable[HubEvent], backlog_limit: int, on_close: Callable[[Subscription], None]
    ):
        self._pending = deque(first)
        self._backlog_limit = backlog_limit
        self._on_close = on_close
        self._wake = asyncio.Event()
        self._ended = False

    def push(self, event: HubEvent) -> None:
        if self._ended:
            return
        if len(self._pending) >= self._backlog_limit:
            self.end()
            return
        self._pending.append(event)
        self._wake.set()

    def end(self) -> None:
        """Stop after the events already queued."""
        self._ended = True
        self._wake.set()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._ended = True
        self._on_close(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> HubEvent:
        while not self._pending:
            if self._ended:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()
        return self._pending.popleft()


class EventHub:
    """Fan-out of published events to every subscriber. Call it from the event loop's thread."""

    def __init__(self, replay_size: int = 1000, *, first_seq: int | None = None):
        # By default numbering starts at the boot time in microseconds, so every id of this run is
        # above any id of an earlier run (unless that one averaged a million events a second): a
        # client's Last-Event-ID from before a restart then reads as unresumable (reset) instead of
        # as a position in this run's stream. Such ids stay exact in a JavaScript number.
        self._next_seq = time.time_ns() // 1000 if first_seq is None else first_seq
        self._replay: deque[HubEvent] = deque(maxlen=replay_size)
        self._replay_size = replay_size
        self._subscriptions: set[Subscription] = set()
        self._closed = False

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    @property
    def closed(self) -> bool:
        """Whether the server is stopping: long responses (live view) end when they see it."""
        return self._closed

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def publish(self, kind: str, payload: BaseModel) -> HubEvent:
        event = HubEvent(self._next_seq, kind, payload.model_dump_json())
        self._next_seq += 1
        self._replay.append(event)
        for subscription in self._subscriptions:
            subscription.push(event)
        return event

    def subscribe(self, last_event_id: int | None = None) -> Subscription:
        if last_event_id is not None and self._can_resume(last_event_id):
            first = [e for e in self._replay if e.seq > last_event_id]
        else:
            first = [HubEvent(self.last_seq, RESET, "{}")]
        subscription = Subscription(first, self._replay_size, self._subscriptions.discard)
        if self._closed:
            subscription.end()
        else:
            self._subscriptions.add(subscription)
        return subscription

    def close(self) -> None:
        """End every stream (at shutdown: open streams would otherwise hold the server up)."""
        self._closed = True
        for subscription in self._subscriptions:
            subscription.end()

    def _can_resume(self, last_event_id: int) -> bool:
        oldest = self._replay[0].seq if self._replay else self._next_seq
        return oldest - 1 <= last_event_id <= self.last_seq


def publish_alert(hub: EventHub, change: AlertChange, alert: AlertView) -> HubEvent:
    return hub.publish(ALERT, AlertUpdate(change=change, alert=alert))


class ZmqEventBridge:
    """Relays the analytics process's messages into the hub.

    Binds a SUB socket at `endpoint` (producers connect to it, so they may start and restart in any
    order). JSON frames: `{"type": "alert", "event": AlertEvent.to_dict()}`, sent after the event
    is committed to the store, and `{"type": "health", **HealthReport}`. The alert published on
    the hub is read back from the store, so the feed always shows the stored state.
    """

    def __init__(
        self,
        hub: EventHub,
        store: AlertStore,
        endpoint: str,
        *,
        on_health: Callable[[HealthReport], None] | None = None,
    ):
        self._hub = hub
        self._store = store
        self._endpoint = endpoint
        self._on_health = on_health

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Relay while inside. Binding happens on entry, so an unusable endpoint fails the start."""
        context = zmq.asyncio.Context()
        socket = context.socket(zmq.SUB)
        try:
            socket.setsockopt(zmq.SUBSCRIBE, b"")
            socket.bind(self._endpoint)
            relay = asyncio.create_task(self._relay(socket))
            try:
                yield
            finally:
                relay.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await relay
        finally:
            socket.close(linger=0)
            context.term()

    async def _relay(self, socket: zmq.asyncio.Socket) -> None:
        while True:
            frame = await socket.recv()
            try:
                await self._handle(frame)
            except Exception:
                # One bad message or a database hiccup must not stop the live feed.
                log.exception("could not relay a message from the analytics process")

    async def _handle(self, frame: bytes) -> None:
        try:
            message = json.loads(frame)
            kind = message["type"]
            if kind == "alert":
                await self._relay_alert(AlertEvent.from_dict(message["event"]))
            elif kind == "health":
                report = HealthReport.model_validate({k: v for k, v in message.items() if k != "type"})
                if self._on_health is not None:
                    self._on_health(report)
            else:
                log.warning("ignoring a message of unknown type %r", kind)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring a malformed message: %s", exc)

    async def _relay_alert(self, event: AlertEvent) -> None:
        try:
            alert = await asyncio.to_thread(self._store.get, event.alert_id)
        except AlertNotFound:
            log.warning("alert %s was published but is not in the store", event.alert_id)
            return
        publish_alert(self._hub, AlertChange(event.kind), alert)


def _health_state(report: HealthReport) -> tuple[object, ...]:
    # What a watch desk must hear about at once; frame rates change all the time and are polled.
    return (tuple(sorted(report.processes.items())),
            tuple(sorted((cam, h.connected) for cam, h in report.cameras.items())))


@contextlib.asynccontextmanager
async def health_feed(
    hub: EventHub, health: Callable[[], HealthReport], interval_s: float | None = None
) -> AsyncIterator[None]:
    """While inside, publishes a `health` event whenever a camera connects or drops or a process
    dies or comes back (checked every `interval_s`)."""

    last: tuple[object, ...] | None = None

    async def check() -> None:
        nonlocal last
        report = await asyncio.to_thread(health)
        state = _health_state(report)
        if last is not None and state != last:
            hub.publish(HEALTH, report)
        last = state

    async with polling(check, HEALTH_POLL_S if interval_s is None else interval_s, "read the box's health"):
        yield


@contextlib.asynccontextmanager
async def polling(check: Callable[[], Awaitable[None]], interval_s: float, what: str) -> AsyncIterator[None]:
    """While inside, awaits `check` every `interval_s` on the event loop; a failure is logged (as
    "could not <what>") and the next round tries again."""

    async def loop() -> None:
        while True:
            try:
                await check()
            except Exception:
                log.exception("could not %s", what)
            await asyncio.sleep(interval_s)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
