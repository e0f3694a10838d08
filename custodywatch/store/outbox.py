"""The box's outbox: every change the centre mirrors, in the order the box committed them.

A write path adds its outbox row inside its own transaction (`append`), so a change and its outbox
row are committed together or not at all: nothing is forwarded that the box does not hold, and
nothing the box holds is left unforwarded. Each row carries the whole thing as it is after the
change (not a delta), so applying rows again, or only the newest of several, gives the same result.

Order: SQLite serialises writers (BEGIN IMMEDIATE), so `seq` order is commit order. On PostgreSQL
two transactions may take sequence values in one order and commit in the other, and a forwarder
that read the later one first would skip the earlier for good; so there each append takes a lock
that orders outbox writers by commit. It is held only from the append to the commit, and the
append is the last statement of a write, so it costs little and cannot deadlock with row locks.
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from custodywatch.store.db import for_writing, serialize_writers
from custodywatch.store.models import OUTBOX_KEY_LENGTH, Alert, ForwardCursorRow, OutboxRow

if TYPE_CHECKING:
    from custodywatch.store.rules_state import CustodyRecordRow

CENTRAL = "central"  # the one forwarding target a box has today


class OutboxKind(StrEnum):
    ALERT = "alert"
    CUSTODY = "custody"
    HEALTH = "health"
    CHAIN_HEAD = "chain_head"


@dataclass(frozen=True)
class OutboxEntry:
    seq: int
    id: str
    kind: OutboxKind
    key: str
    payload: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class ForwardLag:
    """How far the centre is behind: rows not yet acknowledged, and how old the oldest is."""

    acked_seq: int
    pending: int
    oldest_age_s: float | None


def append(session: Session, kind: OutboxKind, key: str, payload: dict[str, Any], *, at: float,
           entry_id: str | None = None) -> None:
    """Add a row to the outbox within the caller's transaction; call it last in that transaction."""
    serialize_writers(session, OutboxRow.__tablename__)
    session.add(OutboxRow(id=entry_id or uuid.uuid4().hex, kind=kind.value, key=key[:OUTBOX_KEY_LENGTH],
                          payload=json.dumps(payload, separators=(",", ":")), created_at=at))


def alert_payload(alert: Alert) -> dict[str, Any]:
    """The alert row and its history as stored (floats untouched, so the centre stores the same)."""
    row = {column.key: getattr(alert, column.key) for column in Alert.__table__.columns}
    row["history"] = [{"at": h.at, "kind": h.kind, "severity": h.severity, "actor": h.actor,
                       "comment": h.comment} for h in alert.history]
    return row


def record_alert(session: Session, alert: Alert, at: float) -> None:
    """The outbox row of an alert write (not of a replayed event, which changes nothing)."""
    append(session, OutboxKind.ALERT, alert.id, alert_payload(alert), at=at)


def _entry(row: OutboxRow) -> OutboxEntry:
    return OutboxEntry(row.seq, row.id, OutboxKind(row.kind), row.key, json.loads(row.payload),
                       row.created_at)


class Outbox:
    """Reading the outbox, and the cursor of what the centre has acknowledged."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._reads = sessionmaker(engine)
        self._writes = sessionmaker(for_writing(engine))
        self._clock = clock

    def add(self, kind: OutboxKind, key: str, payload: dict[str, Any], entry_id: str | None = None) -> bool:
        """Add a row in a transaction of its own; False when `entry_id` is there already."""
        with self._writes.begin() as session:
            if entry_id is not None and session.scalar(
                    select(OutboxRow.seq).where(OutboxRow.id == entry_id)) is not None:
                return False
            append(session, kind, key, payload, at=self._clock(), entry_id=entry_id)
            return True

    def refresh_pending(self, kind: OutboxKind, key: str, payload: dict[str, Any],
                        target: str = CENTRAL) -> bool:
        """Replace the payload of the newest row of `kind` and `key` the target does not hold yet;
        False when there is none. For states only the latest of which matters (camera health), so
        a long outage leaves one row per key, not one per interval."""
        with self._writes.begin() as session:
            acked = session.scalar(select(ForwardCursorRow.seq).where(ForwardCursorRow.target == target)) or 0
            row = session.scalars(select(OutboxRow).where(
                OutboxRow.kind == kind.value, OutboxRow.key == key, OutboxRow.seq > acked)
                .order_by(OutboxRow.seq.desc()).limit(1)).first()
            if row is None:
                return False
            row.payload = json.dumps(payload, separators=(",", ":"))
            return True

    def after(self, seq: int, limit: int) -> list[OutboxEntry]:
        """Rows after `seq`, oldest first."""
        with self._reads() as session:
            rows = session.scalars(select(OutboxRow).where(OutboxRow.seq > seq)
                                   .order_by(OutboxRow.seq).limit(limit))
            return [_entry(r) for r in rows]

    def last_seq(self) -> int:
        with self._reads() as session:
            return session.scalar(select(func.max(OutboxRow.seq))) or 0

    def acked_seq(self, target: str = CENTRAL) -> int:
        with self._reads() as session:
            return session.scalar(select(ForwardCursorRow.seq).where(ForwardCursorRow.target == target)) or 0

    def ack(self, seq: int, target: str = CENTRAL) -> None:
        """Note that the target holds every row up to `seq`; the cursor never moves back."""
        with self._writes.begin() as session:
            row = session.get(ForwardCursorRow, target)
            if row is None:
                session.add(ForwardCursorRow(target=target, seq=seq, acked_at=self._clock()))
            elif seq > row.seq:
                row.seq, row.acked_at = seq, self._clock()

    def lag(self, target: str = CENTRAL) -> ForwardLag:
        acked = self.acked_seq(target)
        with self._reads() as session:
            pending, oldest = session.execute(
                select(func.count(), func.min(OutboxRow.created_at)).where(OutboxRow.seq > acked)).one()
        return ForwardLag(acked, pending or 0, None if oldest is None else max(0.0, self._clock() - oldest))

    def prune(self, keep_s: float, target: str | None = CENTRAL) -> int:
        """Delete rows older than `keep_s` that the target acknowledged (all old rows when no target:
        a box without a centre keeps its outbox only as a short local record)."""
        where = [OutboxRow.created_at < self._clock() - keep_s]
        if target is not None:
            where.append(OutboxRow.seq <= self.acked_seq(target))
        with self._writes.begin() as session:
            result = session.execute(delete(OutboxRow).where(*where))
            return int(getattr(result, "rowcount", 0) or 0)


def record_custody(session: Session, row: CustodyRecordRow) -> None:
    """The outbox row of a custody check-in, release or extension."""
    payload = {"person": row.person, "room": row.room, "legal_basis": row.legal_basis,
               "extended": row.extended, "check_in": row.check_in, "release": row.release,
               "updated_at": row.updated_at}
    append(session, OutboxKind.CUSTODY, f"{row.person}@{row.check_in!r}", payload, at=row.updated_at)
