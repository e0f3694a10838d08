"""Alert events the store could not take yet, kept in order and written when it answers again.

A database locked past its busy timeout (SQLite) or unreachable (PostgreSQL) must not lose an
alert: the event keeps its own times (fired, condition start), so writing it late changes nothing
but when the page hears of it. Retries back off so that an outage costs the analytics loop one
failed attempt every few seconds, not one per tick. The analytics' other writes (room counts, rule
state) report their failures and successes here too, and wait while a retry is not due: on a
locked SQLite file every write waits out the busy timeout before it fails.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from custodywatch.rules.events import AlertEvent
from custodywatch.store.alerts import AlertStoreError

log = logging.getLogger("custodywatch.analytics")

CAPACITY = 10_000  # alert events are a few an hour per room: this is days of outage
FIRST_RETRY_S = 0.5
MAX_RETRY_S = 10.0


@dataclass
class StoreOutageFigures:
    """What the store's outages cost, for logs and tests."""

    outages: int = 0  # separate periods in which writes failed
    failed_writes: int = 0
    written_late: int = 0  # events written after waiting out an outage
    dropped: int = 0  # events lost because the backlog was full
    rejected: int = 0  # events the store refused as invalid (not an outage)
    longest_outage_s: float = 0.0


class AlertBacklog:
    """A bounded FIFO of alert events in front of the store's write."""

    def __init__(self, write: Callable[[AlertEvent], object], *, capacity: int = CAPACITY,
                 first_retry_s: float = FIRST_RETRY_S, max_retry_s: float = MAX_RETRY_S):
        self._write = write
        self._queue: deque[AlertEvent] = deque()
        self._capacity = capacity
        self._first_retry_s = first_retry_s
        self._max_retry_s = max_retry_s
        self._retry_s = first_retry_s
        self._next_try = float("-inf")
        self._outage_since: float | None = None
        self.figures = StoreOutageFigures()

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def in_outage(self) -> bool:
        return self._outage_since is not None

    def waiting(self, now: float) -> bool:
        """Whether the store is down and not yet due for another try (other writes can wait too)."""
        return self._outage_since is not None and now < self._next_try

    def add(self, events: Iterable[AlertEvent]) -> None:
        for event in events:
            if len(self._queue) >= self._capacity:
                # Keep the oldest: a later change of an alert needs its earlier ones stored first.
                self.figures.dropped += 1
                log.error("alert backlog full (%d): alert event %s for %s dropped",
                          self._capacity, event.kind, event.alert_id)
                continue
            self._queue.append(event)

    def flush(self, now: float) -> list[AlertEvent]:
        """Write what is queued, oldest first, unless a retry is not yet due; the events written."""
        if not self._queue or now < self._next_try:
            return []
        written: list[AlertEvent] = []
        while self._queue:
            event = self._queue[0]
            try:
                self._write(event)
            except AlertStoreError:
                self._queue.popleft()
                self.figures.rejected += 1
                log.exception("alert event %s for %s not stored", event.kind, event.alert_id)
                continue
            except SQLAlchemyError as exc:
                self.store_failed(now, exc)
                break
            self._queue.popleft()
            written.append(event)
        if self._outage_since is not None:
            self.figures.written_late += len(written)
            if not self._queue:
                self.store_answered(now)
        return written

    def store_failed(self, now: float, exc: SQLAlchemyError) -> None:
        """A write to the store failed: the next try waits, longer each time."""
        self.figures.failed_writes += 1
        if self._outage_since is None:
            self._outage_since = now
            self._retry_s = self._first_retry_s
            self.figures.outages += 1
            log.error("store unavailable (%s): %d alert events kept, retrying",
                      type(exc).__name__, len(self._queue))
        else:
            self._retry_s = min(2 * self._retry_s, self._max_retry_s)
            log.warning("store still unavailable after %.0f s: %d alert events kept",
                        now - self._outage_since, len(self._queue))
        self._next_try = now + self._retry_s

    def store_answered(self, now: float) -> None:
        """A write to the store succeeded: the outage is over once no alert event waits."""
        if self._outage_since is None or self._queue:
            return
        lasted = now - self._outage_since
        self.figures.longest_outage_s = max(self.figures.longest_outage_s, lasted)
        log.warning("store back after %.1f s: kept alert events written (%d so far)",
                    lasted, self.figures.written_late)
        self._outage_since = None
        self._next_try = float("-inf")
