"""Ground truth of a scene, computed from its timeline the way the rules observe the footage.

The rules time a departure from the last analysed frame a person's anchor was in a zone, and an
arrival from the first analysed frame it was back in (hysteresis never stretches a timer). So the
truth is read off the same frames `analyze` samples: every `video fps / analysis fps`-th frame.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from custodywatch.scenes.compose import Actor, Timeline
from custodywatch.vocabulary import RuleId, Severity

Polygon = Sequence[tuple[float, float]]


@dataclass(frozen=True)
class TruthAlert:
    """One alert level a correct analysis reports, in the `analyze` output format (without `id`)."""

    rule: RuleId
    camera: str
    room: str
    severity: Severity
    start_s: float
    condition_start_s: float
    end_s: float | None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rule": self.rule.value, "severity": self.severity.value}


def analysed_times(timeline: Timeline, analysis_fps: int) -> list[float]:
    """The stream times of the frames `analyze` keeps when sampling this timeline's video."""
    if timeline.fps % analysis_fps:
        raise ValueError(f"analysis rate {analysis_fps} fps must divide the video's {timeline.fps} fps, "
                         "or the sampled frames drift against the truth")
    step = timeline.fps // analysis_fps
    return [timeline.frame_time(i) for i in range(0, timeline.frame_count, step)]


def in_zone(actor: Actor, zone: Polygon, t: float) -> bool:
    if not actor.is_visible(t):
        return False
    contour = np.asarray(zone, dtype=np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, actor.anchor_at(t), False) >= 0


def last_in_zone_before_leaving(actor: Actor, zone: Polygon, times: Sequence[float], after_s: float) -> float:
    """The last sampled time in `zone` before the actor's first sampled time outside it after `after_s`."""
    inside_at = None
    for t in times:
        if t < after_s:
            continue
        if not in_zone(actor, zone, t):
            if inside_at is None:
                break
            return inside_at
        inside_at = t
    raise ValueError(f"{actor.cutout.name} does not leave the zone after {after_s} s")


def first_in_zone_after(actor: Actor, zone: Polygon, times: Sequence[float], after_s: float) -> float:
    for t in times:
        if t >= after_s and in_zone(actor, zone, t):
            return t
    raise ValueError(f"{actor.cutout.name} is not in the zone after {after_s} s")
