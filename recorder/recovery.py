"""Crash recovery: the segment a killed recorder was writing becomes a whole, indexed segment.

A `.part` file left in the archive was being written when the recorder died. Its fragments are
complete up to the last `moof`+`mdat` pair whose bytes all reached the file; the file is cut back
to the end of that pair (never to less), timed from its name and its own timestamps, hashed,
renamed and indexed as `recovered`, before the recorder writes anything new for the camera.
"""
from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from custodywatch.recorder.index import MIN_GAP_S, ArchiveIndex, GapCause, GapRecord, SegmentRecord
from custodywatch.recorder.segment import PART_SUFFIX, finish_file, start_from_name

log = logging.getLogger("custodywatch.recorder.recovery")


def whole_fragments_end(path: Path) -> int:
    """Byte offset where the last complete fragment (moof followed by its whole mdat) ends; 0 when
    the file has no complete fragment (nothing playable)."""
    size = path.stat().st_size
    end = 0
    pos = 0
    seen_moov = False
    pending_moof = False
    with path.open("rb") as f:
        while pos + 8 <= size:
            f.seek(pos)
            header = f.read(16)
            box_size, kind = struct.unpack(">I4s", header[:8])
            if box_size == 1 and len(header) >= 16:
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:
                box_size = size - pos
            if box_size < 8 or pos + box_size > size:
                break  # this box was being written when the recorder died
            if kind == b"moov":
                seen_moov = True
            elif kind == b"moof":
                pending_moof = True
            elif kind == b"mdat" and pending_moof and seen_moov:
                pending_moof = False
                end = pos + box_size
            pos += box_size
    return end


@dataclass(frozen=True)
class Probe:
    packets: int
    streams: list[str]
    first_s: float
    end_s: float


def probe(path: Path) -> Probe | None:
    """Count packets and find the time span of a media file (no decoding)."""
    try:
        with av.open(str(path)) as c:
            streams = [s.codec_context.name for s in c.streams if s.type in ("video", "audio")]
            first, end, n = None, None, 0
            for p in c.demux():
                if p.dts is None or p.size == 0:
                    continue
                tb = p.time_base
                assert tb is not None
                t = float(p.dts * tb)
                d = float(p.duration * tb) if p.duration else 0.0
                first = t if first is None else min(first, t)
                end = t + d if end is None else max(end, t + d)
                n += 1
    except (av.error.FFmpegError, OSError):
        return None
    if first is None or end is None:
        return None
    return Probe(n, streams, first, end)


def recover_camera(index: ArchiveIndex, camera: str) -> list[SegmentRecord]:
    """Close and index every `.part` segment of `camera` (oldest first)."""
    torn = index.repair_torn_tail()
    if torn:
        log.warning("%s: cut %d bytes of an index line a crash left half-written", index.path, torn)
    recovered: list[SegmentRecord] = []
    parts = sorted((index.archive / camera).glob(f"*/*{PART_SUFFIX}"), key=lambda p: p.name)
    for part in parts:
        rec = recover_part(index, camera, part)
        if rec is not None:
            recovered.append(rec)
    return recovered


def recover_part(index: ArchiveIndex, camera: str, part: Path,
                 start: float | None = None) -> SegmentRecord | None:
    """Cut `part` to its whole fragments, index it as recovered; `start`: its wall-clock start when
    known (the recorder knows it; after a crash it comes from the file name)."""
    final = part.with_name(part.name.removesuffix(PART_SUFFIX))
    keep = whole_fragments_end(part)
    if keep == 0:
        # Only a header, no sample: nothing that could be shown was lost with it.
        log.warning("%s: %s holds no whole fragment; removed", camera, part.name)
        part.unlink()
        return None
    size = part.stat().st_size
    if keep < size:
        with part.open("r+b") as f:
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
    found = probe(part)
    if found is None:
        log.error("%s: %s cannot be read after cutting it to its whole fragments; left as it is",
                  camera, part.name)
        return None
    start = start_from_name(final.name) if start is None else start
    last = index.last(camera)
    if last is not None and start - last.end > MIN_GAP_S:
        # The recorder indexes a gap when the segment after it closes; it died first.
        index.append(GapRecord(camera=camera, start=last.end, end=start, cause=GapCause.RECORDER_RESTART,
                               detail="indexed by crash recovery: the gap's own cause was not recorded"))
    done = finish_file(part, final, found.streams, found.packets)
    rec = index.append(SegmentRecord(
        camera=camera, start=start, end=start + (found.end_s - found.first_s),
        path=str(final.relative_to(index.archive)), size=done.size, sha256=done.sha256,
        streams=done.streams, packets=done.packets, recovered=True))
    assert isinstance(rec, SegmentRecord)
    log.warning("%s: recovered %s after a crash: %d packets, %d bytes of an unfinished fragment cut",
                camera, final.name, found.packets, size - keep)
    return rec
