"""Re-analysis: the rules run over what the archive holds of one camera between two times.

The camera's segments (found as clips are: the index, minus what retention deleted, plus the
segment being written) are decoded in time order; each frame's time is its segment's wall-clock
start plus its time in the segment, counted from the first recorded moment of the range. A hole
between segments (the recorder or the camera was down) is a time without frames, so `video_loss`
sees it as it would have live. Output is `analyze`'s: seconds from that first moment.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any

import av

from custodywatch.config import Config
from custodywatch.pipeline.source import Frame, SourceError, read_frames
from custodywatch.recorder.clips import Source, sources
from custodywatch.recorder.index import INDEX_NAME, ArchiveIndex
from custodywatch.time_args import TimeArgError, parse_time

log = logging.getLogger("custodywatch.reanalyze")


class ArchiveRangeError(Exception):
    """Nothing can be re-analysed as asked: the message names the archive, camera or range."""


def _first_pts_s(path: Path) -> float:
    """The video's first timestamp in the file (segments begin at 0; a part being written may not)."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        if stream.start_time is None or stream.time_base is None:
            return 0.0
        return float(stream.start_time * stream.time_base)


@dataclass(frozen=True)
class ArchiveRange:
    archive: Path
    camera: str
    start: float
    end: float
    files: list[Source]  # overlapping the range, in time order

    @property
    def origin(self) -> float:
        """The wall-clock time output seconds count from: the first recorded moment of the range."""
        return max(self.start, self.files[0].start)

    def recorded_s(self) -> float:
        return sum(min(f.end, self.end) - max(f.start, self.start) for f in self.files)

    def frames(self, fps: float) -> Iterator[Frame]:
        last = -1.0
        for f in self.files:
            try:
                offset = _first_pts_s(f.path)
                for frame in read_frames(self.camera, str(f.path), fps):
                    wall = f.start + offset + frame.stream_s
                    if wall < self.start:
                        continue
                    if wall >= self.end:
                        return
                    t = wall - self.origin
                    if t <= last:
                        continue  # adjoining segments may share an instant; time only goes on
                    last = t
                    yield dataclasses.replace(frame, stream_s=t, wall=wall)
            except (SourceError, av.error.FFmpegError, OSError) as exc:
                # A segment that cannot be read is a time without frames, as a hole is; say so.
                log.warning("%s: skipped as unreadable: %s", f.path, exc)


def archive_range(archive: Path, camera: str, start: float, end: float) -> ArchiveRange:
    if not (archive / INDEX_NAME).is_file():
        raise ArchiveRangeError(f"--archive: {archive} is not an archive (no {INDEX_NAME})")
    if end <= start:
        raise ArchiveRangeError("--to: the range must end after it begins (--from)")
    found, _gaps = sources(ArchiveIndex(archive), camera)
    files = [f for f in found if f.end > start and f.start < end and f.path.is_file()]
    if not files:
        raise ArchiveRangeError(f"--archive: {archive} holds nothing of camera {camera!r} in the range")
    return ArchiveRange(archive, camera, start, end, files)


def range_from_args(archive: str, camera: str, start: str | None, end: str | None, now: float,
                    zone: tzinfo = UTC) -> ArchiveRange:
    """The CLI's `--archive DIR --from T --to T`, with the error naming the flag at fault."""
    if start is None or end is None:
        raise ArchiveRangeError("--archive needs --from and --to")
    try:
        t0 = parse_time("--from", start, now, zone)
        t1 = parse_time("--to", end, now, zone)
    except TimeArgError as exc:
        raise ArchiveRangeError(str(exc)) from None
    return archive_range(Path(archive), camera, t0, t1)


def reanalyse(cfg: Config, model_dir: Path, archive: Path, camera: str, start: float,
              end: float) -> tuple[float, list[dict[str, Any]]]:
    """The whole re-analysis of a range, as a job runs it (in a child process of the API, niced so
    the live service keeps the CPU it needs): the origin and `analyze`'s lines as dicts."""
    from custodywatch.analyze import analyze_frames
    from custodywatch.models.detector import Detector

    with contextlib.suppress(OSError):
        os.nice(10)
    stored = archive_range(archive, camera, start, end)
    detector = Detector.from_config(cfg.detector, model_dir)
    lines = analyze_frames(stored.frames(cfg.camera(camera).fps), cfg, camera, detector)
    return stored.origin, [json.loads(line.to_json()) for line in lines]
