"""What the rules keep across restarts, the room timeline the UI draws, and custody records.

- `rule_state`: the rule engine's and each camera analyser's state as JSON, one row per scope,
  replaced as a whole: when each condition began, custody clocks, open alert ids.
- `room_counts`: each settled change of a room's role counts, in time order.
- `custody_records`: who is held where on what legal basis, since and until when (the API writes
  them; the analytics process reads them).

Times are epoch seconds on the box's one clock, as everywhere in the store.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Engine, Index, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from custodywatch.rules.custody import CustodyRecord
from custodywatch.rules.engine import RoomCounts
from custodywatch.store.db import for_writing, serialize_writers
from custodywatch.store.models import ID_LENGTH, Base
from custodywatch.store.outbox import record_custody
from custodywatch.vocabulary import Role

SCOPE_LENGTH = 64
PERSON_LENGTH = 64


class RuleStateRow(Base):
    __tablename__ = "rule_state"

    scope: Mapped[str] = mapped_column(String(SCOPE_LENGTH), primary_key=True)
    state: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[float]


class RoomCountRow(Base):
    __tablename__ = "room_counts"
    __table_args__ = (Index("ix_room_counts_room_at", "room", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room: Mapped[str] = mapped_column(String(ID_LENGTH))
    at: Mapped[float]
    detainees: Mapped[int]
    officers: Mapped[int]
    guards: Mapped[int]


class CustodyRecordRow(Base):
    __tablename__ = "custody_records"
    __table_args__ = (UniqueConstraint("person", "check_in", name="uq_custody_person_check_in"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    room: Mapped[str] = mapped_column(String(ID_LENGTH))
    legal_basis: Mapped[str] = mapped_column(String(ID_LENGTH))
    extended: Mapped[bool]
    check_in: Mapped[float]
    release: Mapped[float | None]
    updated_at: Mapped[float]

    def record(self) -> CustodyRecord:
        return CustodyRecord(self.person, self.room, self.legal_basis, self.extended, self.check_in,
                             self.release)


class RulesStateStore:
    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._reads = sessionmaker(engine)
        self._writes = sessionmaker(for_writing(engine))
        self._clock = clock

    # ---- rule state ------------------------------------------------------------------------------

    def save_state(self, states: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace the state of each scope given, in one transaction."""
        now = self._clock()
        with self._writes.begin() as session:
            serialize_writers(session, RuleStateRow.__tablename__)  # merge reads, then inserts or updates
            for scope, state in states.items():
                session.merge(RuleStateRow(scope=scope, state=json.dumps(state), saved_at=now))

    def load_state(self) -> dict[str, dict[str, Any]]:
        with self._reads() as session:
            return {row.scope: json.loads(row.state) for row in session.scalars(select(RuleStateRow))}

    # ---- room timeline ---------------------------------------------------------------------------

    def add_room_counts(self, changes: Iterable[RoomCounts]) -> None:
        rows = [RoomCountRow(room=c.room, at=c.at, detainees=c.counts.get(Role.DETAINEE, 0),
                             officers=c.counts.get(Role.OFFICER, 0), guards=c.counts.get(Role.GUARD, 0))
                for c in changes]
        if not rows:
            return
        with self._writes.begin() as session:
            session.add_all(rows)

    def room_counts(self, room: str, since: float = float("-inf"),
                    until: float = float("inf")) -> list[RoomCounts]:
        """The room's count changes in [since, until), plus the one in force at `since`."""
        row = RoomCountRow
        with self._reads() as session:
            before = session.scalars(select(row).where(row.room == room, row.at < since)
                                     .order_by(row.at.desc(), row.id.desc()).limit(1)).all()
            rows = session.scalars(select(row).where(row.room == room, row.at >= since, row.at < until)
                                   .order_by(row.at, row.id)).all()
            return [RoomCounts(r.room, r.at, {Role.DETAINEE: r.detainees, Role.OFFICER: r.officers,
                                              Role.GUARD: r.guards}) for r in [*before, *rows]]

    # ---- custody records -------------------------------------------------------------------------

    def put_custody(self, record: CustodyRecord) -> None:
        """Add a record, or update the one with the same person and check-in (release, extension)."""
        now = self._clock()
        with self._writes.begin() as session:
            serialize_writers(session, CustodyRecordRow.__tablename__)  # the same record entered twice
            row = session.scalars(select(CustodyRecordRow).where(
                CustodyRecordRow.person == record.person,
                CustodyRecordRow.check_in == record.check_in)).first()
            if row is None:
                row = CustodyRecordRow(person=record.person, check_in=record.check_in)
                session.add(row)
            row.room, row.legal_basis, row.extended = record.room, record.legal_basis, record.extended
            row.release, row.updated_at = record.release, now
            record_custody(session, row)

    def custody_records(self, open_since: float = float("-inf")) -> list[CustodyRecord]:
        """Records still open, or released at or after `open_since`, in check-in order."""
        with self._reads() as session:
            rows = session.scalars(select(CustodyRecordRow).where(
                (CustodyRecordRow.release.is_(None)) | (CustodyRecordRow.release >= open_since))
                .order_by(CustodyRecordRow.check_in, CustodyRecordRow.id)).all()
            return [r.record() for r in rows]

    def forget_room_counts_before(self, before: float) -> None:
        with self._writes.begin() as session:
            session.execute(delete(RoomCountRow).where(RoomCountRow.at < before))
