"""Retention: delete what has aged out or what the disk quota cannot hold — never protected footage.

A segment is protected while it overlaps an active legal hold, an alert (from `pre_roll_s` before
its condition began to `post_roll_s` after it ended; an open alert up to now) or a custody record
(its room's cameras: an open record up to now; a released one until its camera's retention period
has passed since the release, see custody.py). The caller says what is protected (`ProtectedFn`;
the service's is `service.footage_protection`). Protected segments are skipped, whatever their age
and whatever the quota: when the quota cannot be met without them, the policy raises an alarm and
deletes nothing protected, and the recorder keeps writing while the disk has room.

Each deletion is first appended to the archive's index as a chained `deletion` record (so verify
knows the segment left lawfully, and the chain stays whole), then the file is removed, then it is
reported to the audit log.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from custodywatch.recorder.catalog import Interval
from custodywatch.recorder.index import ArchiveIndex, DeletionRecord, SegmentRecord
from custodywatch.recorder.segment import PART_SUFFIX

log = logging.getLogger("custodywatch.recorder.retention")

DAY_S = 86400.0


@dataclass(frozen=True)
class RetentionRules:
    max_age_days: float = 180.0
    by_camera_days: dict[str, float] = field(default_factory=dict)  # camera -> days (wins over room)
    by_room_days: dict[str, float] = field(default_factory=dict)
    camera_rooms: dict[str, str] = field(default_factory=dict)
    quota_bytes: int | None = None

    def max_age_s(self, camera: str) -> float:
        if camera in self.by_camera_days:
            return self.by_camera_days[camera] * DAY_S
        room = self.camera_rooms.get(camera)
        if room is not None and room in self.by_room_days:
            return self.by_room_days[room] * DAY_S
        return self.max_age_days * DAY_S


@dataclass(frozen=True)
class Deleted:
    camera: str
    path: str
    size: int
    reason: str


@dataclass
class RetentionResult:
    deleted: list[Deleted] = field(default_factory=list)
    kept_protected: int = 0  # segments that were due but protected
    used_bytes: int = 0
    alarm: str | None = None  # set when the quota cannot be met without deleting protected footage
    records: list[DeletionRecord] = field(default_factory=list)  # appended to the index (to mirror)


ProtectedFn = Callable[[float, float], list[Interval]]
AuditFn = Callable[[Deleted], None]


class SegmentSource(Protocol):
    """Where retention learns which segments are live (indexed, not deleted)."""

    def aged(self, cutoff: Callable[[str], float]) -> list[SegmentRecord]:
        """Live segments that ended before their camera's cutoff, oldest first."""

    def used_bytes(self) -> int:
        """Bytes of all live segments."""

    def oldest(self) -> Iterator[SegmentRecord]:
        """Live segments, oldest first."""


class IndexSegments:
    """Live segments read from index.jsonl (a whole-file scan: for archives without the database)."""

    def __init__(self, index: ArchiveIndex):
        self.index = index

    def _live(self) -> list[SegmentRecord]:
        deleted: set[str] = set()
        segments: list[SegmentRecord] = []
        for rec in self.index.records():
            if isinstance(rec, DeletionRecord):
                deleted.add(rec.path)
            elif isinstance(rec, SegmentRecord):
                segments.append(rec)
        live = [s for s in segments if s.path not in deleted and (self.index.archive / s.path).exists()]
        return sorted(live, key=lambda s: s.start)

    def aged(self, cutoff: Callable[[str], float]) -> list[SegmentRecord]:
        return [s for s in self._live() if s.end < cutoff(s.camera)]

    def used_bytes(self) -> int:
        return sum(s.size for s in self._live())

    def oldest(self) -> Iterator[SegmentRecord]:
        return iter(self._live())


class RetentionPolicy:
    def __init__(self, index: ArchiveIndex, rules: RetentionRules, protected: ProtectedFn,
                 audit: AuditFn | None = None, clock: Callable[[], float] = time.time,
                 segments: SegmentSource | None = None):
        self.index = index
        self.rules = rules
        self.protected = protected
        self.audit = audit
        self.clock = clock
        self.segments = segments or IndexSegments(index)

    def run(self) -> RetentionResult:
        result = RetentionResult()
        now = self.clock()
        used = self.segments.used_bytes() + self._in_progress_bytes()
        # Protection is looked up once per run, over everything retention could touch.
        shields = self.protected(0.0, now)

        def shielded(seg: SegmentRecord) -> bool:
            return any(i.covers(seg.camera, seg.start, seg.end) for i in shields)

        gone: set[str] = set()
        for seg in self.segments.aged(lambda camera: now - self.rules.max_age_s(camera)):
            if shielded(seg):
                result.kept_protected += 1
                continue
            days = self.rules.max_age_s(seg.camera) / DAY_S
            self._delete(seg, f"older than {days:g} days", result)
            gone.add(seg.path)
            used -= seg.size
        quota = self.rules.quota_bytes
        if quota is not None and used > quota:
            protected = 0
            for seg in self.segments.oldest():
                if used <= quota:
                    break
                if seg.path in gone:
                    continue
                if shielded(seg):
                    protected += 1
                    continue
                self._delete(seg, f"disk quota of {quota} bytes", result)
                gone.add(seg.path)
                used -= seg.size
            if used > quota:
                result.alarm = (f"disk quota of {quota} bytes cannot be met: {used} bytes in use, "
                                f"{protected} protected segments kept (holds, alerts, custody); "
                                "recording goes on while the disk has room")
                log.error("%s", result.alarm)
        result.used_bytes = used
        return result

    def _in_progress_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.index.archive.glob(f"*/*/*{PART_SUFFIX}"))

    def _delete(self, seg: SegmentRecord, reason: str, result: RetentionResult) -> None:
        # The record first: a crash between the two leaves a deleted-but-present file (harmless),
        # never a missing file without its deletion record.
        rec = self.index.append(DeletionRecord(camera=seg.camera, at=self.clock(), path=seg.path,
                                               sha256=seg.sha256, start=seg.start, end=seg.end,
                                               reason=reason))
        assert isinstance(rec, DeletionRecord)
        result.records.append(rec)
        Path(self.index.archive / seg.path).unlink(missing_ok=True)
        done = Deleted(seg.camera, seg.path, seg.size, reason)
        result.deleted.append(done)
        log.info("retention deleted %s (%d bytes): %s", seg.path, seg.size, reason)
        if self.audit is not None:
            self.audit(done)
