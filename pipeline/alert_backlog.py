"""Alert events the store could not take yet, kept in order and written when it answers again.

A database locked past its busy timeout (SQLite) or unreachable (PostgreSQL) must not lose an
alert: the event keeps its own times (fired, condition start), so writing it late changes nothing
but when the page hears of it. Retries back off so that an outage costs the analytics loop one
failed attempt every few seconds, not one per tick. The analytics' other writes (room counts, rule
state) report their failures and successes here too, and wait while a retry is not due: on a
locked SQLite file every write waits out the busy timeout before it fails.

The backlog is written ahead to a spool file on the box's own disk before the store is tried, so
a process that dies (or is killed by the watchdog, hung on a dead link) in an outage loses nothing:
the next run starts from the spool. Replaying an event already stored changes nothing.
"""
from __future__ import annotations

import json
import logging
import os
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from custodywatch.rules.events import AlertEvent
from custodywatch.store.alerts import AlertStoreError

log = logging.getLogger("custodywatch.analytics")

CAPACITY = 10_000  # alert events are a few an hour per room: this is days of outage
FIRST_RETRY_S = 0.5
MAX_RETRY_S = 10.0


def spooled(spool: Path | None) -> int:
    """Alert events a run left in `spool`, counted before a backlog (which reads them) exists."""
    try:
        return 0 if spool is None else len(spool.read_text().splitlines())
    except OSError:
        return 0


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
                 first_retry_s: float = FIRST_RETRY_S, max_retry_s: float = MAX_RETRY_S,
                 spool: Path | None = None):
        self._write = write
        self._queue: deque[AlertEvent] = deque()
        self._spool = spool
        self._spooled = False  # whether the spool file holds events
        self._capacity = capacity
        self._first_retry_s = first_retry_s
        self._max_retry_s = max_retry_s
        self._retry_s = first_retry_s
        self._next_try = float("-inf")
        self._outage_since: float | None = None
        self.figures = StoreOutageFigures()
        self.from_last_run = self._read_spool()

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def in_outage(self) -> bool:
        return self._outage_since is not None

    @property
    def unavailable_since(self) -> float | None:
        """When the store stopped taking writes (on the clock of `now`); None while it takes them."""
        return self._outage_since

    def waiting(self, now: float) -> bool:
        """Whether the store is down and not yet due for another try (other writes can wait too)."""
        return self._outage_since is not None and now < self._next_try

    def add(self, events: Iterable[AlertEvent]) -> None:
        before = len(self._queue)
        for event in events:
            if len(self._queue) >= self._capacity:
                # Keep the oldest: a later change of an alert needs its earlier ones stored first.
                self.figures.dropped += 1
                log.error("alert backlog full (%d): alert event %s for %s dropped",
                          self._capacity, event.kind, event.alert_id)
                continue
            self._queue.append(event)
        if len(self._queue) > before:
            self._write_spool()

    def flush(self, now: float) -> list[AlertEvent]:
        """Write what is queued, oldest first, unless a retry is not yet due; the events written."""
        if not self._queue or now < self._next_try:
            return []
        written: list[AlertEvent] = []
        queued = len(self._queue)
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
        if len(self._queue) != queued:
            self._write_spool()
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

    def _read_spool(self) -> int:
        """Queue the events a previous run kept and could not store; how many."""
        if self._spool is None or not self._spool.exists():
            return 0
        events: list[AlertEvent] = []
        for number, line in enumerate(self._spool.read_text().splitlines(), 1):
            try:
                events.append(AlertEvent.from_dict(json.loads(line)))
            except (ValueError, TypeError, KeyError) as exc:
                # A line cut short by a crash mid-write: the events before it are whole.
                log.error("alert spool %s line %d unreadable (%s): skipped", self._spool, number, exc)
        self._queue.extend(events[: self._capacity])
        self._spooled = True
        if events:
            log.warning("%d alert events kept by the last run are queued for the store (%s)",
                        len(events), self._spool)
        return len(events)

    def _write_spool(self) -> None:
        """The queue as it stands, on disk before the store is tried; no file once it is empty."""
        if self._spool is None:
            return
        try:
            if not self._queue:
                if self._spooled:
                    self._spool.unlink(missing_ok=True)
                    self._spooled = False
                return
            self._spool.parent.mkdir(parents=True, exist_ok=True)
            part = self._spool.with_name(self._spool.name + ".part")
            with part.open("w") as f:
                f.writelines(json.dumps(e.to_dict()) + "\n" for e in self._queue)
                f.flush()
                os.fsync(f.fileno())
            part.replace(self._spool)
            self._spooled = True
        except OSError:
            # The disk failing too: the events are still in memory and tried on the store.
            log.exception("alert spool %s not written", self._spool)
