"""The recorder's side of the database: the index mirror, legal holds, the audit log, and which
footage is protected from automatic deletion.

Writes use the store's write path (BEGIN IMMEDIATE on SQLite), one short transaction each.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, Select, and_, func, or_, select
from sqlalchemy.orm import sessionmaker

from custodywatch.recorder.index import ArchiveIndex, DeletionRecord, GapRecord, SegmentRecord
from custodywatch.store.db import for_writing, serialize_writers
from custodywatch.store.models import Alert
from custodywatch.store.recordings import LegalHold, RecorderAudit, RecordingRecord

ALL_CAMERAS = "*"


class HoldError(Exception):
    """A hold that cannot be created or released as asked (the message says why)."""


@dataclass(frozen=True)
class Interval:
    """Protected footage: [start, end] on `cameras` (None: every camera), and why."""

    start: float
    end: float
    cameras: frozenset[str] | None
    why: str

    def covers(self, camera: str, start: float, end: float) -> bool:
        return (self.cameras is None or camera in self.cameras) and start <= self.end and end >= self.start


@dataclass(frozen=True)
class HoldView:
    id: str
    cameras: list[str]
    start: float
    end: float
    reason: str
    alert_id: str | None
    custody_id: str | None
    created_by: str
    created_at: float
    released_by: str | None
    released_at: float | None
    release_reason: str | None

    @property
    def active(self) -> bool:
        return self.released_at is None


def _hold_view(h: LegalHold) -> HoldView:
    cameras = [] if h.cameras == ALL_CAMERAS else h.cameras.split(",")
    return HoldView(h.id, cameras, h.start, h.end, h.reason, h.alert_id, h.custody_id, h.created_by,
                    h.created_at, h.released_by, h.released_at, h.release_reason)


class RecorderCatalog:
    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time):
        self._reads = sessionmaker(engine)
        self._writes = sessionmaker(for_writing(engine))
        self._clock = clock

    # ---- the index mirror ------------------------------------------------------------------

    def mirror(self, archive_id: str, records: Iterable[SegmentRecord | GapRecord | DeletionRecord]) -> int:
        """Insert the records the database does not have yet; returns how many were added."""
        records = list(records)
        if not records:
            return 0
        with self._writes.begin() as session:
            # The recorder and a catch-up (another process) may mirror the same records at once.
            serialize_writers(session, RecordingRecord.__tablename__)
            have = {(c, s) for c, s in session.execute(
                select(RecordingRecord.camera, RecordingRecord.seq).where(
                    RecordingRecord.archive_id == archive_id,
                    RecordingRecord.camera.in_({r.camera for r in records})))}
            added = 0
            for r in records:
                if (r.camera, r.seq) in have:
                    continue
                session.add(RecordingRecord(
                    archive_id=archive_id, camera=r.camera, seq=r.seq, type=r.type, start=r.start, end=r.end,
                    path=getattr(r, "path", None), size=getattr(r, "size", None),
                    sha256=getattr(r, "sha256", None),
                    cause=r.cause.value if isinstance(r, GapRecord) else (
                        r.reason if isinstance(r, DeletionRecord) else None),
                    recovered=isinstance(r, SegmentRecord) and r.recovered, prev=r.prev, hash=r.hash))
                added += 1
            return added

    def catch_up(self, index: ArchiveIndex) -> int:
        """Mirror what the index has and the database lacks, reading the index from its end back
        only as far as the newest mirrored record of each camera."""
        with self._reads() as session:
            have = dict(session.execute(
                select(RecordingRecord.camera, func.max(RecordingRecord.seq))
                .where(RecordingRecord.archive_id == index.id).group_by(RecordingRecord.camera)).all())
        heads = index.heads()
        missing: list[SegmentRecord | GapRecord | DeletionRecord] = []
        pending = {cam for cam, head in heads.items() if head.seq > have.get(cam, -1)}
        for rec in index.records_reversed():
            if not pending:
                break
            if rec.camera not in pending:
                continue
            if rec.seq > have.get(rec.camera, -1):
                missing.append(rec)
            if rec.seq <= have.get(rec.camera, -1) + 1:
                pending.discard(rec.camera)  # a camera's records are in seq order in the file
        return self.mirror(index.id, reversed(missing))

    # ---- legal holds ---------------------------------------------------------------------------

    def create_hold(self, cameras: Sequence[str], start: float, end: float, reason: str, by: str, *,
                    alert_id: str | None = None, custody_id: str | None = None) -> HoldView:
        reason = reason.strip()
        if not reason:
            raise HoldError("a hold needs a reason")
        if end <= start:
            raise HoldError(f"the hold's end ({end:.3f}) must be after its start ({start:.3f})")
        now = self._clock()
        hold = LegalHold(id=uuid.uuid4().hex, cameras=",".join(sorted(set(cameras))) or ALL_CAMERAS,
                         start=start, end=end, reason=reason, alert_id=alert_id, custody_id=custody_id,
                         created_by=by, created_at=now, released_by=None, released_at=None,
                         release_reason=None)
        with self._writes.begin() as session:
            session.add(hold)
            session.add(RecorderAudit(at=now, actor=by, action="hold_created", camera=None, subject=hold.id,
                                      detail=f"{hold.cameras} {start:.3f}..{end:.3f}: {reason}"))
            return _hold_view(hold)

    def release_hold(self, hold_id: str, reason: str, by: str) -> HoldView:
        reason = reason.strip()
        if not reason:
            raise HoldError("releasing a hold needs a reason")
        with self._writes.begin() as session:
            hold = session.get(LegalHold, hold_id)
            if hold is None:
                raise HoldError(f"no hold {hold_id!r}")
            if hold.released_at is not None:
                raise HoldError(f"hold {hold_id!r} was already released by {hold.released_by}")
            now = self._clock()
            hold.released_at, hold.released_by, hold.release_reason = now, by, reason
            session.add(RecorderAudit(at=now, actor=by, action="hold_released", camera=None, subject=hold_id,
                                      detail=reason))
            return _hold_view(hold)

    def holds(self, *, active_only: bool = False) -> list[HoldView]:
        query = select(LegalHold).order_by(LegalHold.created_at)
        if active_only:
            query = query.where(LegalHold.released_at.is_(None))
        with self._reads() as session:
            return [_hold_view(h) for h in session.scalars(query)]

    # ---- what retention must keep --------------------------------------------------------------

    def protected(self, start: float, end: float, pre_roll_s: float, post_roll_s: float,
                  camera_rooms: dict[str, str]) -> list[Interval]:
        """Active holds and alerts (with their rolls; open alerts up to now) overlapping [start, end]."""
        out: list[Interval] = []
        with self._reads() as session:
            for h in session.scalars(select(LegalHold).where(
                    LegalHold.released_at.is_(None), LegalHold.start <= end, LegalHold.end >= start)):
                cams = None if h.cameras == ALL_CAMERAS else frozenset(h.cameras.split(","))
                out.append(Interval(h.start, h.end, cams, f"legal hold {h.id}: {h.reason}"))
            now = self._clock()
            alerts = session.scalars(select(Alert).where(
                Alert.condition_started_at - pre_roll_s <= end,
                or_(Alert.ended_at.is_(None), and_(Alert.ended_at.is_not(None),
                                                   Alert.ended_at + post_roll_s >= start))))
            for a in alerts:
                # An alert protects its whole room: the other cameras saw the same event.
                cams = frozenset(c for c, room in camera_rooms.items() if room == a.room) | {a.camera}
                alert_end = (a.ended_at if a.ended_at is not None else now) + post_roll_s
                alert_end = max(alert_end, a.fired_at + post_roll_s)
                out.append(Interval(a.condition_started_at - pre_roll_s, alert_end, cams, f"alert {a.id}"))
        return out

    def audit(self, action: str, detail: str, *, actor: str = "recorder", camera: str | None = None,
              subject: str | None = None) -> None:
        with self._writes.begin() as session:
            session.add(RecorderAudit(at=self._clock(), actor=actor, action=action, camera=camera,
                                      subject=subject, detail=detail))

    def audit_log(self) -> list[tuple[float, str, str, str | None, str | None, str]]:
        with self._reads() as session:
            return [(a.at, a.actor, a.action, a.camera, a.subject, a.detail)
                    for a in session.scalars(select(RecorderAudit).order_by(RecorderAudit.id))]


class CatalogSegments:
    """Live segments from the database mirror (indexed queries, for retention on a big archive).

    Rows carry what retention needs; a segment's stream list and packet count are not mirrored.
    """

    PAGE = 500

    def __init__(self, engine: Engine, archive_id: str):
        self._reads = sessionmaker(engine)
        self.archive_id = archive_id

    def _live(self) -> Select[RecordingRecord]:
        deleted = select(RecordingRecord.path).where(RecordingRecord.archive_id == self.archive_id,
                                                     RecordingRecord.type == "deletion")
        return select(RecordingRecord).where(RecordingRecord.archive_id == self.archive_id,
                                             RecordingRecord.type == "segment",
                                             RecordingRecord.path.not_in(deleted))

    @staticmethod
    def _record(r: RecordingRecord) -> SegmentRecord:
        return SegmentRecord(camera=r.camera, seq=r.seq, prev=r.prev, hash=r.hash, start=r.start, end=r.end,
                             path=r.path or "", size=r.size or 0, sha256=r.sha256 or "", streams=[],
                             packets=0, recovered=r.recovered)

    def aged(self, cutoff: Callable[[str], float]) -> list[SegmentRecord]:
        out: list[SegmentRecord] = []
        with self._reads() as session:
            cameras = session.scalars(select(RecordingRecord.camera).where(
                RecordingRecord.archive_id == self.archive_id).distinct()).all()
            for camera in cameras:
                query = self._live().where(RecordingRecord.camera == camera,
                                           RecordingRecord.end < cutoff(camera))
                out.extend(self._record(r) for r in session.scalars(query))
        return sorted(out, key=lambda s: s.start)

    def used_bytes(self) -> int:
        live = self._live().subquery()
        with self._reads() as session:
            return int(session.scalar(select(func.coalesce(func.sum(live.c.size), 0))) or 0)

    def oldest(self) -> Iterator[SegmentRecord]:
        after: tuple[float, int] | None = None
        while True:
            query = self._live().order_by(RecordingRecord.start, RecordingRecord.id).limit(self.PAGE)
            if after is not None:
                query = query.where(or_(RecordingRecord.start > after[0],
                                        and_(RecordingRecord.start == after[0],
                                             RecordingRecord.id > after[1])))
            with self._reads() as session:
                rows = list(session.scalars(query))
                page = [(self._record(r), r.start, r.id) for r in rows]
            if not page:
                return
            for rec, _, _ in page:
                yield rec
            after = (page[-1][1], page[-1][2])
