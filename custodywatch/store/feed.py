"""The live feed's journal: what a box pushed to the page, and the alert changes it has yet to push.

The alert store queues a row for every alert change inside the change's own transaction (see
`queue_alert_change`), so a committed change always has one. The API pushes the queued rows in
order: it numbers a row and stores the event's data in one commit, then pushes. Numbers continue
from the journal after a restart, and the newest events are replayed to clients that resume, so a
client neither misses an event nor gets one twice.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from custodywatch.store.db import for_writing
from custodywatch.store.models import FeedEvent

ALERT_KIND = "alert"


@dataclass(frozen=True)
class PushedEvent:
    """An event as it was pushed: its SSE id, name and data."""

    seq: int
    kind: str
    data: str


@dataclass(frozen=True)
class QueuedChange:
    """An alert change committed but not yet pushed."""

    id: int
    alert_id: str
    change: str


def queue_alert_change(session: Session, box_id: str, alert_id: str, change: str, at: float) -> None:
    """Queue a push of an alert change, in the session of the transaction that makes the change."""
    session.add(FeedEvent(box_id=box_id, kind=ALERT_KIND, alert_id=alert_id, change=change, queued_at=at))


class FeedJournal:
    def __init__(self, engine: Engine, box_id: str, *, clock: Callable[[], float] = time.time) -> None:
        self._reads = sessionmaker(engine)
        self._writes = sessionmaker(for_writing(engine))
        self._box_id = box_id
        self._clock = clock

    def last_seq(self) -> int | None:
        with self._reads() as session:
            return session.scalar(select(func.max(FeedEvent.seq)).where(FeedEvent.box_id == self._box_id))

    def newest(self, limit: int) -> list[PushedEvent]:
        """The last `limit` events pushed, oldest first."""
        query = (select(FeedEvent.seq, FeedEvent.kind, FeedEvent.data)
                 .where(FeedEvent.box_id == self._box_id, FeedEvent.seq.is_not(None))
                 .order_by(FeedEvent.seq.desc()).limit(limit))
        with self._reads() as session:
            rows = session.execute(query).all()
        return [PushedEvent(seq, kind, data or "{}") for seq, kind, data in reversed(rows)
                if seq is not None]

    def queued(self, limit: int = 100) -> list[QueuedChange]:
        """Alert changes not yet pushed, in the order they were committed."""
        query = (select(FeedEvent.id, FeedEvent.alert_id, FeedEvent.change)
                 .where(FeedEvent.box_id == self._box_id, FeedEvent.seq.is_(None))
                 .order_by(FeedEvent.id).limit(limit))
        with self._reads() as session:
            rows = session.execute(query).all()
        return [QueuedChange(id_, alert_id or "", change or "") for id_, alert_id, change in rows]

    def record(self, event: PushedEvent, queued_id: int | None = None) -> None:
        """Write down an event about to be pushed: a queued alert change's row, or a new row."""
        now = self._clock()
        with self._writes.begin() as session:
            row = None if queued_id is None else session.get(FeedEvent, queued_id)
            if row is None:
                row = FeedEvent(box_id=self._box_id, kind=event.kind, queued_at=now)
                session.add(row)
            row.seq, row.data, row.pushed_at = event.seq, event.data, now

    def discard(self, queued_id: int) -> None:
        """Drop a queued change that can no longer be pushed (its alert is gone)."""
        with self._writes.begin() as session:
            session.execute(delete(FeedEvent).where(FeedEvent.id == queued_id, FeedEvent.seq.is_(None)))

    def forget_before(self, seq: int) -> int:
        """Drop the pushed events numbered below `seq` (the journal only needs its newest)."""
        with self._writes.begin() as session:
            result = session.execute(delete(FeedEvent).where(FeedEvent.box_id == self._box_id,
                                                             FeedEvent.seq < seq))
            return int(getattr(result, "rowcount", 0) or 0)
