"""The archive's own index: `index.jsonl`, one record per line, a hash chain per camera.

Every record (segment, gap, deletion) names the hash of the camera's previous record and carries
its own hash over everything else in it, so a segment removed, replaced or reordered, or a record
edited, breaks the chain where it happened. The index is self-contained: `verify` needs nothing
but the archive directory (and, for its signatures, the box's public key).

Appends take an exclusive `flock` so the recorder threads of one process and another process
(retention, the CLI) never interleave lines; each append is flushed and fsynced, because a record
that names a segment is the only proof that the segment was closed whole.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from custodywatch.recorder.index_offsets import (
    CHECKPOINT_BYTES,
    Checkpoint,
    append_checkpoint,
    read_checkpoints,
    start_offset,
)

INDEX_NAME = "index.jsonl"
ARCHIVE_META = "archive.json"
GENESIS = "0" * 64
MIN_GAP_S = 1e-3  # shorter holes between records are rounding, not gaps


class GapCause(StrEnum):
    CAMERA_OFFLINE = "camera_offline"  # could not connect
    STREAM_ERROR = "stream_error"  # connected, then the stream broke or jumped in time
    RECORDER_RESTART = "recorder_restart"  # the recorder was not running (stopped, crashed)
    CONFIG_CHANGE = "config_change"  # the recorder was restarted to apply a new configuration
    STORAGE_ERROR = "storage_error"  # the segment could not be written (disk full, I/O error)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    camera: str
    # Filled in by ArchiveIndex.append: position in the camera's chain (0, 1, 2, ...) and the hash
    # of the camera's previous record (GENESIS for the first).
    seq: int = Field(0, ge=0)
    prev: str = ""
    hash: str = ""

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"hash"})

    def compute_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.body())).hexdigest()


class SegmentRecord(_Record):
    type: Literal["segment"] = "segment"
    start: float  # wall-clock epoch seconds of the first keyframe
    end: float  # wall-clock epoch seconds where the next segment (or the recording) ends
    path: str  # relative to the archive directory
    size: int
    sha256: str
    streams: list[str]  # codec names in file order, e.g. ["h264", "aac"]
    packets: int
    recovered: bool = False  # closed by crash recovery: the last fragment may be missing


class GapRecord(_Record):
    type: Literal["gap"] = "gap"
    start: float
    end: float
    cause: GapCause
    detail: str = ""


class DeletionRecord(_Record):
    """A segment removed by retention: the chain stays whole and `verify` knows it was lawful."""

    type: Literal["deletion"] = "deletion"
    at: float
    path: str
    sha256: str
    start: float
    end: float
    reason: str


Record = Annotated[SegmentRecord | GapRecord | DeletionRecord, Field(discriminator="type")]
_RECORD = TypeAdapter(Record)


def canonical_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_record(line: str) -> SegmentRecord | GapRecord | DeletionRecord:
    return _RECORD.validate_json(line)


@dataclass(frozen=True)
class ChainHead:
    camera: str
    seq: int
    hash: str


def archive_id(archive: Path) -> str:
    """The archive's identity (created once), which names its signatures outside the archive."""
    meta = archive / ARCHIVE_META
    try:
        return str(json.loads(meta.read_text())["archive_id"])
    except FileNotFoundError:
        archive.mkdir(parents=True, exist_ok=True)
        ident = uuid.uuid4().hex
        tmp = meta.with_suffix(".tmp")
        tmp.write_text(json.dumps({"archive_id": ident}) + "\n")
        try:
            # Another process may have created it meanwhile: the first one wins.
            os.link(tmp, meta)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        return str(json.loads(meta.read_text())["archive_id"])


class ArchiveIndex:
    """Appends chained records to `<archive>/index.jsonl` and knows each camera's chain head."""

    def __init__(self, archive: Path):
        self.archive = archive
        self.path = archive / INDEX_NAME
        archive.mkdir(parents=True, exist_ok=True)
        self.id = archive_id(archive)
        self._lock = threading.Lock()
        self._heads: dict[str, ChainHead] = {}
        self._offset = 0  # how far of the file _heads has seen (another process may append)
        # For the offsets sidecar (index_offsets): the latest end among the records seen, the hash of
        # the last one, and where the last checkpoint is (None: not read yet).
        self._max_end = float("-inf")
        self._last_hash = ""
        self._checkpointed: int | None = None

    def repair_torn_tail(self) -> int:
        """Cut a last line that a crash left half-written (no newline): it was never a committed
        record. Only the writer calls this, before it appends; returns the bytes removed."""
        if not self.path.exists():
            return 0
        with self.path.open("r+b") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return 0
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return 0
            data_start = max(0, size - (1 << 20))
            f.seek(data_start)
            tail = f.read()
            keep = data_start + tail.rfind(b"\n") + 1 if b"\n" in tail else 0
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
            self._offset = min(self._offset, keep)
            return size - keep

    def records(self) -> Iterator[SegmentRecord | GapRecord | DeletionRecord]:
        """Every record in file order (raises on a line that is not a record)."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield parse_record(line)

    def records_from(self, since: float) -> Iterator[SegmentRecord | GapRecord | DeletionRecord]:
        """In file order, every record that ends after `since` (and some before it), starting where
        the offsets sidecar says nothing earlier can: a range long ago reads from there, not from
        the archive's beginning."""
        if not self.path.exists():
            return
        offset = start_offset(self.archive, self.path, since)
        with self.path.open("rb") as f:
            f.seek(offset)
            for raw in f:
                if not raw.endswith(b"\n"):
                    break  # a line still being written
                if raw.strip():
                    yield parse_record(raw.decode("utf-8"))

    def records_reversed(self, block: int = 1 << 16) -> Iterator[SegmentRecord | GapRecord | DeletionRecord]:
        """Records newest first, reading the file backwards: recent history without a full scan."""
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            pos = self._committed_end(f, block)  # a last line still being written is not a record
            tail = b""
            while pos > 0:
                step = min(block, pos)
                pos -= step
                f.seek(pos)
                lines = (f.read(step) + tail).split(b"\n")
                tail = lines[0]  # may continue in the block before
                for raw in reversed(lines[1:]):
                    if raw.strip():
                        yield parse_record(raw.decode("utf-8"))
            if tail.strip():
                yield parse_record(tail.decode("utf-8"))

    @staticmethod
    def _committed_end(f: BinaryIO, block: int) -> int:
        """Offset just after the file's last newline."""
        pos = f.seek(0, os.SEEK_END)
        while pos > 0:
            step = min(block, pos)
            f.seek(pos - step)
            chunk = f.read(step)
            found = chunk.rfind(b"\n")
            if found != -1:
                return pos - step + found + 1
            pos -= step
        return 0

    def heads(self) -> dict[str, ChainHead]:
        with self._lock:
            self._catch_up()
            return dict(self._heads)

    def last(self, camera: str, kinds: tuple[str, ...] = ("segment", "gap")) -> (
            SegmentRecord | GapRecord | DeletionRecord | None):
        for rec in self.records_reversed():
            if rec.camera == camera and rec.type in kinds:
                return rec
        return None

    def append(self, record: SegmentRecord | GapRecord | DeletionRecord) -> (
            SegmentRecord | GapRecord | DeletionRecord):
        """Chain `record` to its camera's head (its seq/prev/hash are filled in) and append it."""
        with self._lock, self.path.open("a+", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                self._catch_up()
                head = self._heads.get(record.camera)
                chained = record.model_copy(update={
                    "seq": 0 if head is None else head.seq + 1,
                    "prev": GENESIS if head is None else head.hash,
                })
                chained = chained.model_copy(update={"hash": chained.compute_hash()})
                line = json.dumps(chained.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False)
                self._checkpoint(os.fstat(f.fileno()).st_size)
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
                self._offset = f.tell()
                self._heads[record.camera] = ChainHead(record.camera, chained.seq, chained.hash)
                self._seen(chained)
                return chained
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _catch_up(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            f.seek(self._offset)
            for raw in f:
                if not raw.endswith(b"\n"):
                    break  # a line still being written by another process
                self._offset += len(raw)
                if raw.strip():
                    rec = parse_record(raw.decode("utf-8"))
                    self._heads[rec.camera] = ChainHead(rec.camera, rec.seq, rec.hash)
                    self._seen(rec)

    def _seen(self, rec: SegmentRecord | GapRecord | DeletionRecord) -> None:
        self._max_end = max(self._max_end, rec.end)
        self._last_hash = rec.hash

    def _checkpoint(self, offset: int) -> None:
        """Before a record is written at `offset` (the writer holds the lock, caught up): note a
        checkpoint there when the last one is far enough back."""
        if self._checkpointed is None:
            found = read_checkpoints(self.archive)
            self._checkpointed = found[-1].offset if found and found[-1].offset <= offset else 0
        if offset - self._checkpointed < CHECKPOINT_BYTES or offset != self._offset:
            return
        append_checkpoint(self.archive, Checkpoint(offset, self._max_end, self._last_hash))
        self._checkpointed = offset
