"""`custodywatch analyze`: the live path's classes run over a video file, every frame kept.

The file's own timestamps are the clock (seconds from its first frame), so results are the same
on any machine at any speed.
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from custodywatch.config import Config
from custodywatch.models.detector import Detector
from custodywatch.pipeline.source import Frame, estimate_frames, read_frames
from custodywatch.rules.camera import CameraAnalyzer
from custodywatch.rules.custody import CustodyRecord
from custodywatch.rules.engine import RuleEngine
from custodywatch.rules.events import AlertEvent
from custodywatch.rules.motion import MOTION_KEY, MotionMeter
from custodywatch.rules.posture import GuardPostPosture
from custodywatch.vocabulary import Zone


@dataclass
class AlertLine:
    """One alert level reached, in the `analyze` output format."""

    id: str
    rule: str
    camera: str
    room: str
    severity: str
    start_s: float
    condition_start_s: float
    end_s: float | None

    def to_json(self) -> str:
        d: dict[str, Any] = {
            "rule": self.rule, "camera": self.camera, "room": self.room, "severity": self.severity,
            "start_s": round(self.start_s, 3), "condition_start_s": round(self.condition_start_s, 3),
            "end_s": None if self.end_s is None else round(self.end_s, 3), "id": self.id,
        }
        return json.dumps(d)


def alert_lines(events: list[AlertEvent]) -> list[AlertLine]:
    """One line per alert level reached (overstay's warnings before the limit are a line each)."""
    lines: list[AlertLine] = []
    for e in events:
        if e.kind in ("fired", "escalated"):
            lines.append(AlertLine(e.alert_id, e.rule.value, e.camera, e.room, e.severity.value, e.at,
                                   e.condition_started_at, None))
        else:
            for line in lines:
                if line.id == e.alert_id:
                    line.end_s = e.at
    return sorted(lines, key=lambda line: (line.start_s, line.rule, line.severity))


class ProgressBar:
    def __init__(self, total: int | None, out: TextIO | None = None, every_s: float = 0.5):
        # sys.stderr looked up now, not at import: whoever replaced it since (a test, a wrapper) wins.
        self.total, self.out, self.every_s = total, out if out is not None else sys.stderr, every_s
        self._last = 0.0

    def update(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last < self.every_s:
            return
        self._last = now
        if self.total:
            frac = min(1.0, done / self.total)
            bar = "#" * int(frac * 30)
            self.out.write(f"\ranalyze [{bar:<30}] {frac:4.0%} {done}/{self.total} frames")
        else:
            self.out.write(f"\ranalyze {done} frames")
        if final:
            self.out.write("\n")
        self.out.flush()


def analyze_file(video: Path, cfg: Config, camera_id: str, detector: Detector,
                 on_progress: Callable[[int], None] | None = None,
                 custody: list[CustodyRecord] | None = None,
                 pose: Detector | None = None) -> list[AlertLine]:
    """Alerts of one camera's video; `custody` records in seconds from its first frame; `pose` reads
    the guard's posture when given."""
    camera = cfg.camera(camera_id)
    return analyze_frames(read_frames(camera.id, str(video), camera.fps), cfg, camera_id, detector,
                          on_progress=on_progress, custody=custody, pose=pose)


def analyze_frames(frames: Iterable[Frame], cfg: Config, camera_id: str, detector: Detector,
                   on_progress: Callable[[int], None] | None = None,
                   custody: list[CustodyRecord] | None = None,
                   pose: Detector | None = None) -> list[AlertLine]:
    """Alerts of one camera's frames, each at its `stream_s` (seconds from the first; a jump between
    two frames is a time without frames, as a gap in a file or in the archive is)."""
    camera = cfg.camera(camera_id)
    room = cfg.room(camera.room)
    analyzer = CameraAnalyzer(camera, room.type, cfg.roles)
    engine = RuleEngine(cfg, cameras=[camera.id])
    engine.set_custody(custody or [])
    motion = MotionMeter()
    guard_post = camera.zones.get(Zone.GUARD_POST)
    posture = GuardPostPosture(guard_post, pose) if pose is not None and guard_post is not None else None
    events: list[AlertEvent] = []
    last_t = 0.0
    n = 0
    for frame in frames:
        detections = detector.detect([frame.image])[0]
        detections.data[MOTION_KEY] = motion.measure(frame.image, detections.xyxy)
        h, w = frame.image.shape[:2]
        t = frame.stream_s
        # Up to this frame first: a gap in the file's timestamps is a time without frames, which
        # the engine must see before this frame's arrival ends it.
        events += engine.advance(t)
        engine.observe_view(camera.id, t, frame.view())
        engine.observe(analyzer.observe(t, detections, (w, h), blind=engine.sight_lost(camera.id)))
        seen = posture.read(t, frame.image, detections.xyxy) if posture is not None else None
        if seen is not None:
            engine.observe(analyzer.observe_posture(t, seen))
        events += engine.advance(t)
        last_t = frame.stream_s
        n += 1
        if on_progress:
            on_progress(n)
    events += engine.finish(last_t)
    return alert_lines(events)


def progress_for(video: Path, fps: float) -> ProgressBar:
    return ProgressBar(estimate_frames(str(video), fps))
