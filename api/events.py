"""The live alert feed: an in-process fan-out for server-sent events, and the bridge that feeds
it from the analytics process.

Every hub event carries a sequence number, the SSE `id:`. A client that reconnects with
Last-Event-ID gets what it missed from a bounded replay buffer; when that is impossible (a first
connection, a gap wider than the buffer, an id from before a restart) it gets a `reset` event,
which tells it to reload the alert list.

With a journal (the service's store, `custodywatch.store.feed`) the feed survives a restart: each
event is written down with its number before it is pushed, numbering and the replay buffer resume
from the journal, and alert changes committed but never pushed (the API killed in between) are
pushed when it starts again. Events are pushed once; clients also de-duplicate by `id:`.
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
from custodywatch.pipeline.store_report import MESSAGE_TYPE as STORE_REPORT
from custodywatch.pipeline.store_report import StoreReport
from custodywatch.rules.events import AlertEvent
from custodywatch.store.alerts import AlertNotFound, AlertStore
from custodywatch.store.feed import FeedJournal, PushedEvent
from custodywatch.store.views import AlertChange, AlertView

log = logging.getLogger(__name__)

ALERT = "alert"
HEALTH = "health"
RESET = "reset"
RECORDER_ALARM = "recorder_alarm"
HEALTH_POLL_S = 2.0
# How often the bridge looks for alert changes committed but not pushed (a lost nudge, a restart).
QUEUED_POLL_S = 1.0
# How many pushed events the journal keeps beyond the replay buffer's.
JOURNAL_KEEP_FACTOR = 10


class RecorderAlarm(BaseModel):
    """The data of a `recorder_alarm` event: what the recorder cannot do, and since when (epoch s)."""

    message: str
    at: float


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

    def __init__(self, replay_size: int = 1000, *, first_seq: int | None = None,
                 journal: FeedJournal | None = None):
        self._journal = journal
        pushed = [] if journal is None else journal.newest(replay_size)
        if first_seq is None and pushed:
            first_seq = pushed[-1].seq + 1
        # Without a journal numbering starts at the boot time in microseconds, so every id of this
        # run is above any id of an earlier run (unless that one averaged a million events a
        # second): a client's Last-Event-ID from before a restart then reads as unresumable (reset)
        # instead of as a position in this run's stream. Such ids stay exact in a JavaScript number.
        self._next_seq = time.time_ns() // 1000 if first_seq is None else first_seq
        self._replay: deque[HubEvent] = deque((HubEvent(p.seq, p.kind, p.data) for p in pushed),
                                              maxlen=replay_size)
        # Durable pushes number, write down and deliver one event at a time, so ids go out in order.
        self._push_lock = asyncio.Lock()
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

    @property
    def replay_size(self) -> int:
        return self._replay_size

    @property
    def journal(self) -> FeedJournal | None:
        return self._journal

    def publish(self, kind: str, payload: BaseModel) -> HubEvent:
        """Push at once, without the journal (tests, and hubs that have none)."""
        event = HubEvent(self._next_seq, kind, payload.model_dump_json())
        self._deliver(event)
        return event

    async def publish_durably(self, kind: str, payload: BaseModel) -> HubEvent:
        """Push, after writing the event down where there is a journal. An event the journal cannot
        take (database down) is pushed anyway: a live notice matters more than its number."""
        async with self._push_lock:
            event = HubEvent(self._next_seq, kind, payload.model_dump_json())
            if self._journal is not None:
                try:
                    await asyncio.to_thread(self._journal.record, PushedEvent(event.seq, kind, event.data))
                except Exception:
                    log.exception("%s event %d not written to the feed journal", kind, event.seq)
            self._deliver(event)
            return event

    async def push_queued(self, store: AlertStore) -> int:
        """Push the alert changes committed but not yet pushed, in commit order; how many. A change
        is written down as pushed before it goes out, so a failure here leaves it queued."""
        journal = self._journal
        if journal is None:
            return 0
        pushed = 0
        async with self._push_lock:
            for queued in await asyncio.to_thread(journal.queued):
                try:
                    alert = await asyncio.to_thread(store.get, queued.alert_id)
                except AlertNotFound:
                    log.warning("queued change of alert %s: the alert is gone", queued.alert_id)
                    await asyncio.to_thread(journal.discard, queued.id)
                    continue
                update = AlertUpdate(change=AlertChange(queued.change), alert=alert)
                event = HubEvent(self._next_seq, ALERT, update.model_dump_json())
                await asyncio.to_thread(journal.record, PushedEvent(event.seq, ALERT, event.data), queued.id)
                self._deliver(event)
                pushed += 1
        return pushed

    def _deliver(self, event: HubEvent) -> None:
        self._next_seq = event.seq + 1
        self._replay.append(event)
        for subscription in self._subscriptions:
            subscription.push(event)

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


async def push_alert_change(hub: EventHub, store: AlertStore, change: AlertChange, alert: AlertView) -> None:
    """Announce a committed alert change: from the journal's queue where the hub has one (the store
    queued the change in its transaction), else at once."""
    if hub.journal is None:
        publish_alert(hub, change, alert)
        return
    try:
        await hub.push_queued(store)
    except Exception:
        # The change is committed and stays queued: the bridge's next round pushes it.
        log.exception("alert %s %s committed; its push is left to the next round", alert.id, change)


class ZmqEventBridge:
    """Relays the analytics process's messages into the hub.

    Binds a SUB socket at `endpoint` (producers connect to it, so they may start and restart in any
    order). JSON frames: `{"type": "alert", "event": AlertEvent.to_dict()}`, sent after the event
    is committed to the store, `{"type": "health", **HealthReport}`, and `{"type": "store", ...}`
    (pipeline/store_report.py) from the processes that write alerts. The alert published on
    the hub is read back from the store, so the feed always shows the stored state.
    """

    def __init__(
        self,
        hub: EventHub,
        store: AlertStore,
        endpoint: str,
        *,
        on_health: Callable[[HealthReport], None] | None = None,
        on_store: Callable[[StoreReport], None] | None = None,
    ):
        self._hub = hub
        self._store = store
        self._endpoint = endpoint
        self._on_health = on_health
        self._on_store = on_store
        self._next_prune = 0.0

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
                if self._hub.journal is None:
                    yield
                else:
                    async with polling(self._push_queued, QUEUED_POLL_S, "push queued alert changes"):
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
            elif kind == STORE_REPORT:
                store = StoreReport.from_message(message)
                if self._on_store is not None:
                    self._on_store(store)
            elif kind == RECORDER_ALARM:
                # The recorder cannot keep its archive within bounds (the disk quota cannot be met
                # without protected footage): every open page must hear of it.
                alarm = RecorderAlarm(message=str(message["message"]), at=float(message["at"]))
                log.error("recorder alarm: %s", alarm.message)
                await self._hub.publish_durably(RECORDER_ALARM, alarm)
            else:
                log.warning("ignoring a message of unknown type %r", kind)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring a malformed message: %s", exc)

    async def _push_queued(self) -> None:
        await self._hub.push_queued(self._store)
        journal = self._hub.journal
        now = time.monotonic()
        if journal is not None and now >= self._next_prune:
            self._next_prune = now + 3600.0
            await asyncio.to_thread(journal.forget_before,
                                    self._hub.last_seq - JOURNAL_KEEP_FACTOR * self._hub.replay_size)

    async def _relay_alert(self, event: AlertEvent) -> None:
        if self._hub.journal is not None:
            # The message is only a nudge: the change is queued in the store with the alert.
            await self._hub.push_queued(self._store)
            return
        try:
            alert = await asyncio.to_thread(self._store.get, event.alert_id)
        except AlertNotFound:
            log.warning("alert %s was published but is not in the store", event.alert_id)
            return
        publish_alert(self._hub, AlertChange(event.kind), alert)


def _health_state(report: HealthReport) -> tuple[object, ...]:
    # What a watch desk must hear about at once; frame rates change all the time and are polled.
    return (tuple(sorted(report.processes.items())), tuple(report.down),
            tuple(sorted((cam, h.connected) for cam, h in report.cameras.items())),
            () if report.box is None else tuple(report.box.raised()),
            None if report.store is None else (report.store.reachable, report.store.alert_events_waiting))


@contextlib.asynccontextmanager
async def health_feed(
    hub: EventHub, health: Callable[[], HealthReport], interval_s: float | None = None
) -> AsyncIterator[None]:
    """While inside, publishes a `health` event whenever a camera connects or drops or a process
    dies, comes back or is given up on (checked every `interval_s`); the report's `severity` says
    how urgent it is (`alarm` for a process down)."""

    last: tuple[object, ...] | None = None

    async def check() -> None:
        nonlocal last
        report = await asyncio.to_thread(health)
        state = _health_state(report)
        if last is not None and state != last:
            await hub.publish_durably(HEALTH, report)
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
