"""The two rooms scenes are played in, where people stand and how they walk, and `Scene` itself.

Zones are drawn where the script puts people: everyone stands on the near floor (feet at about
y 0.92) in their zone, and leaving means walking back across the zone's far edge (y 0.76 or
0.74) and then sideways out of view, so the moment a person leaves a zone is a crossing in full
view rather than a box shrinking at the frame edge.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from custodywatch.scenes.compose import Activity, Actor, Keyframe, Timeline
from custodywatch.scenes.cutouts import Cutout
from custodywatch.scenes.effects import Effect, Effects
from custodywatch.scenes.props import Prop
from custodywatch.scenes.truth import (
    CustodyRecord,
    Polygon,
    RoomScript,
    RuleOverrides,
    TruthAlert,
    room_alerts,
)
from custodywatch.vocabulary import RoomType, RuleId, Zone

Point = tuple[float, float]

# Analysed frames per second (the camera's `fps`): it must divide the video's 10 fps.
ANALYSIS_FPS = 5
# `unregistered_detention` needs custody records; scenes about other rules have none, and left
# on, it would fire in any scene looped for more than its 600 s default.
NO_CUSTODY_RECORDS: RuleOverrides = {RuleId.UNREGISTERED_DETENTION: {"enabled": False}}

# The people available to a scene, by name.
Cutouts = Mapping[str, Cutout]


def rules_with(**overrides: Mapping[str, float | bool]) -> RuleOverrides:
    """A room's rule overrides for a scene without custody records: `rule_id={key: value}`."""
    return {**NO_CUSTODY_RECORDS, **{RuleId(k): v for k, v in overrides.items()}}


def _rectangle(x0: float, y0: float, x1: float, y1: float) -> tuple[Point, ...]:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


@dataclass(frozen=True)
class Room:
    """A room type as the scenes stage it: ids, zones, and the spots and paths people use."""

    room_id: str
    room_type: RoomType
    camera_id: str
    zones: Mapping[Zone, Polygon]


# Interrogation room: officers on the left of the table, the detainee's seat on the right.
OFFICER_AREA = _rectangle(0.0, 0.76, 0.60, 1.0)
DETAINEE_SEAT = _rectangle(0.66, 0.76, 1.0, 1.0)
DETAINEE_SPOT = (0.80, 0.93)
OFFICER_SPOT_WINDOW = (0.15, 0.93)  # the officer who leaves stands by the window
OFFICER_SPOT_TABLE = (0.41, 0.91)
# Where a leaving officer crosses the back of the room, then leaves it on the left.
OFFICER_BACK_OF_ROOM = (0.24, 0.66)
OFFICER_OUT_OF_VIEW = (-0.15, 0.64)
INTERROGATION = Room("interrogation-1", RoomType.INTERROGATION, "cam-i1",
                     {Zone.OFFICER_AREA: OFFICER_AREA, Zone.DETAINEE_SEAT: DETAINEE_SEAT})

# Holding room: detainees on the left, the guard's post on the right.
DETAINEE_AREA = _rectangle(0.0, 0.74, 0.56, 1.0)
GUARD_POST = _rectangle(0.64, 0.74, 1.0, 1.0)
HOLDING_DETAINEE_SPOT = (0.30, 0.92)
HOLDING_DETAINEE_BACK = (0.20, 0.66)
HOLDING_DETAINEE_OUT = (-0.15, 0.64)
GUARD_SPOT = (0.80, 0.93)
GUARD_BACK_OF_ROOM = (0.74, 0.66)
GUARD_OUT_OF_VIEW = (1.15, 0.64)
HOLDING = Room("holding-1", RoomType.HOLDING, "cam-h1",
               {Zone.DETAINEE_AREA: DETAINEE_AREA, Zone.GUARD_POST: GUARD_POST})

# Walking times (s): from the spot to the back of the room, and from there out of view.
WALK_BACK_S = 4.0
WALK_OUT_S = 5.0


def stay(spot: Point, activity: Activity = Activity.AWAKE) -> list[Keyframe]:
    return [Keyframe(0.0, *spot, activity=activity)]


def leave(spot: Point, back: Point, out: Point, at: float) -> list[Keyframe]:
    """Stand at `spot`, at `at` walk to the back of the room, then out of view and stay away."""
    return [
        Keyframe(0.0, *spot),
        Keyframe(at, *spot),
        Keyframe(at + WALK_BACK_S, *back),
        Keyframe(at + WALK_BACK_S + WALK_OUT_S, *out, visible=False),
    ]


def come_back(spot: Point, back: Point, out: Point, at: float) -> list[Keyframe]:
    """Walk in from out of view at `at`, across the back of the room, to `spot`, and stay."""
    return [
        Keyframe(at, *out),
        Keyframe(at + WALK_OUT_S, *back),
        Keyframe(at + WALK_OUT_S + WALK_BACK_S, *spot),
    ]


def walk_in(spot: Point, back: Point, out: Point, at: float) -> list[Keyframe]:
    """Out of view until `at`, then walk in across the back of the room to `spot` and stay."""
    return [Keyframe(0.0, *out, visible=False), *come_back(spot, back, out, at)]


def step_out(spot: Point, back: Point, out: Point, leave_at: float, back_at: float) -> list[Keyframe]:
    """Leave at `leave_at`, come back in at `back_at` (out of view in between)."""
    return leave(spot, back, out, leave_at) + come_back(spot, back, out, back_at)


def still_between(spot: Point, start: float, end: float | None) -> list[Keyframe]:
    """Awake at `spot`, motionless from `start` (until `end`, then awake again)."""
    frames = [Keyframe(0.0, *spot), Keyframe(start, *spot, activity=Activity.STILL)]
    if end is not None:
        frames.append(Keyframe(end, *spot))
    return frames


@dataclass(frozen=True)
class Scene:
    """A scripted situation in one room seen by one camera, with the alerts it must raise."""

    name: str
    summary: str
    timeline: Timeline
    room_id: str
    room_type: RoomType
    rules: RuleOverrides
    camera_id: str
    zones: Mapping[Zone, Polygon]
    truth: tuple[TruthAlert, ...]
    # Records for `analyze --custody` (None: the scene has no custody file).
    custody: tuple[CustodyRecord, ...] | None = None
    analysis_fps: int = ANALYSIS_FPS

    def config(self, detect_url: str) -> dict[str, Any]:
        """A config (for `custodywatch.config.parse_config`) analysing `detect_url` as this camera."""
        return {
            "rooms": [{
                "id": self.room_id,
                "type": self.room_type.value,
                "rules": {rule.value: dict(override) for rule, override in self.rules.items()},
            }],
            "cameras": [{
                "id": self.camera_id,
                "room": self.room_id,
                "detect_url": detect_url,
                "fps": self.analysis_fps,
                "zones": {zone.value: [list(point) for point in polygon]
                          for zone, polygon in self.zones.items()},
            }],
        }


def stage(name: str, summary: str, room: Room, actors: Sequence[Actor], duration_s: float,
          rules: RuleOverrides, custody: Sequence[CustodyRecord] | None = None,
          props: Sequence[Prop] = (), effects: Sequence[Effect] = ()) -> Scene:
    """A scene in `room`, its truth derived from the script (see `truth.room_alerts`)."""
    timeline = Timeline(tuple(actors), duration_s, props=tuple(props), effects=Effects(tuple(effects)))
    records = None if custody is None else tuple(custody)
    truth = room_alerts(RoomScript(timeline, room.room_id, room.room_type, room.camera_id, room.zones, rules,
                                   records, ANALYSIS_FPS))
    return Scene(name=name, summary=summary, timeline=timeline, room_id=room.room_id,
                 room_type=room.room_type, rules=rules, camera_id=room.camera_id, zones=room.zones,
                 truth=tuple(truth), custody=records)
