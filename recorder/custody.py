"""Custody records as the recorder sees them: footage retention must keep, and the range an export
or a hold by custody record covers.

A custody record names a room, not cameras: its footage is every camera of that room (from the
config) from check-in to release, or up to now while the record is open.

What retention keeps: an open record's footage, always; a released record's footage until its
camera's retention period has passed *since the release*. A custody is one piece of evidence: its
first hours must not age out (or go to the quota) while its last hours are kept, and a complaint
about it can come at any time within the retention period after the person left.

A record's id is the `custody_records` row id (a number). A person's id is accepted too when that
person has exactly one record, so an investigator who knows only the name is not left guessing.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from custodywatch.recorder.catalog import Interval
from custodywatch.rules.custody import CustodyRecord
from custodywatch.store.rules_state import CustodyRecordRow, RulesStateStore


class CustodyNotFound(Exception):
    """No custody record (or no single one) matches the id given; the message says which exist."""


@dataclass(frozen=True)
class StoredCustody:
    id: int
    record: CustodyRecord

    def end(self, now: float) -> float:
        return self.record.release if self.record.release is not None else now

    def describe(self) -> str:
        r = self.record
        until = "open" if r.release is None else f"released {r.release:.3f}"
        return f"{self.id} ({r.person} in {r.room}, check-in {r.check_in:.3f}, {until})"


def room_cameras(camera_rooms: dict[str, str], room: str) -> frozenset[str]:
    return frozenset(c for c, r in camera_rooms.items() if r == room)


def custody_intervals(records: Iterable[CustodyRecord], now: float, camera_rooms: dict[str, str],
                      max_age_s: Callable[[str], float]) -> list[Interval]:
    """The footage each record protects: its room's cameras, check-in to release (open: to now), while
    the record is open or its camera's retention period since the release has not passed."""
    out: list[Interval] = []
    for r in records:
        end = now if r.release is None else r.release
        cams = frozenset(c for c in room_cameras(camera_rooms, r.room)
                         if r.release is None or now <= r.release + max_age_s(c))
        if cams:
            state = "open" if r.release is None else "released"
            out.append(Interval(r.check_in, end, cams, f"custody of {r.person} in {r.room} ({state})"))
    return out


def custody_protection(engine: Engine, now: float, camera_rooms: dict[str, str],
                       max_age_s: Callable[[str], float]) -> list[Interval]:
    """Protected footage from the store's custody records (released ones only as far back as the
    longest retention period reaches: older ones protect nothing any more)."""
    longest = max((max_age_s(c) for c in camera_rooms), default=0.0)
    records = RulesStateStore(engine).custody_records(open_since=now - longest)
    return custody_intervals(records, now, camera_rooms, max_age_s)


def find_custody(engine: Engine, ident: str) -> StoredCustody:
    """The record with this row id, or the only record of this person."""
    row = CustodyRecordRow
    with sessionmaker(engine)() as session:
        if ident.strip().isdigit():
            found = session.get(row, int(ident))
            if found is not None:
                return StoredCustody(found.id, found.record())
        rows = session.scalars(select(row).where(row.person == ident).order_by(row.check_in, row.id)).all()
        matches = [StoredCustody(r.id, r.record()) for r in rows]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CustodyNotFound(f"no custody record {ident!r} (give the record's number, or a person's id)")
    listed = "; ".join(m.describe() for m in matches)
    raise CustodyNotFound(f"{ident!r} has {len(matches)} custody records: {listed}; give the record's number")
