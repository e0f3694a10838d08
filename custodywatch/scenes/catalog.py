"""The named scenes: who does what in which room, the camera config to analyse it, and the truth.

Zones are drawn where the script puts people: everyone stands on the near floor (feet at about
y 0.92) in their zone, and leaving means walking back across the zone's far edge (y 0.76 or
0.74) and then sideways out of view, so the moment a person leaves a zone is a crossing in full
view rather than a box shrinking at the frame edge. Rule thresholds are shortened per room so
each alert fires within a minute or so of footage.

`write_scene(NAME, OUT_DIR)` writes, in OUT_DIR:
- `NAME.mp4` — H.264, no B-frames, keyframe every 2 s, 640x360 at 10 fps;
- `NAME.yaml` — a valid config whose one camera's `detect_url` is the absolute path of NAME.mp4;
- `NAME.truth.jsonl` — the alerts `custodywatch analyze NAME.mp4 --config NAME.yaml --camera ID`
  must print, one JSON object per alert level in the `analyze` format without `id` (empty: none).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from custodywatch.scenes.compose import Actor, Keyframe, Renderer, Timeline
from custodywatch.scenes.cutouts import Cutout, empty_room_path, load_cutouts, read_image
from custodywatch.scenes.encode import encode_h264
from custodywatch.scenes.truth import (
    Polygon,
    TruthAlert,
    analysed_times,
    first_in_zone_after,
    last_in_zone_before_leaving,
)
from custodywatch.vocabulary import Role, RoomType, RuleId, Severity, Zone

# Per-rule overrides of a room, as under `rooms[].rules` in the config.
RuleOverrides = Mapping[RuleId, Mapping[str, float | bool]]

# Analysed frames per second (the camera's `fps`): it must divide the video's 10 fps.
ANALYSIS_FPS = 5
# `unregistered_detention` needs custody records, which scenes do not have; left on, it would
# fire in any scene looped for more than its 600 s default.
NO_CUSTODY_RECORDS: RuleOverrides = {RuleId.UNREGISTERED_DETENTION: {"enabled": False}}


def _rectangle(x0: float, y0: float, x1: float, y1: float) -> tuple[tuple[float, float], ...]:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


# Interrogation room: officers on the left of the table, the detainee's seat on the right.
OFFICER_AREA = _rectangle(0.0, 0.76, 0.60, 1.0)
DETAINEE_SEAT = _rectangle(0.66, 0.76, 1.0, 1.0)
DETAINEE_SPOT = (0.80, 0.93)
OFFICER_SPOT_WINDOW = (0.15, 0.93)  # the officer who leaves stands by the window
OFFICER_SPOT_TABLE = (0.41, 0.91)
# Where the leaving officer crosses the back of the room, then leaves it on the left.
OFFICER_BACK_OF_ROOM = (0.24, 0.66)
OFFICER_OUT_OF_VIEW = (-0.15, 0.64)

# Holding room: detainees on the left, the guard's post on the right.
DETAINEE_AREA = _rectangle(0.0, 0.74, 0.56, 1.0)
GUARD_POST = _rectangle(0.64, 0.74, 1.0, 1.0)
HOLDING_DETAINEE_SPOT = (0.30, 0.92)
GUARD_SPOT = (0.80, 0.93)
GUARD_BACK_OF_ROOM = (0.74, 0.66)
GUARD_OUT_OF_VIEW = (1.15, 0.64)

# Walking times (s): from the spot to the back of the room, and from there out of view.
WALK_BACK_S = 4.0
WALK_OUT_S = 5.0


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


def _stay(spot: tuple[float, float]) -> list[Keyframe]:
    return [Keyframe(0.0, *spot)]


def _leave(spot: tuple[float, float], back: tuple[float, float], out: tuple[float, float],
           at: float) -> list[Keyframe]:
    """Stand at `spot`, at `at` walk to the back of the room, then out of view and stay away."""
    return [
        Keyframe(0.0, *spot),
        Keyframe(at, *spot),
        Keyframe(at + WALK_BACK_S, *back),
        Keyframe(at + WALK_BACK_S + WALK_OUT_S, *out, visible=False),
    ]


def _come_back(spot: tuple[float, float], back: tuple[float, float], out: tuple[float, float],
               at: float) -> list[Keyframe]:
    """Walk in from out of view at `at`, across the back of the room, to `spot`, and stay."""
    return [
        Keyframe(at, *out),
        Keyframe(at + WALK_OUT_S, *back),
        Keyframe(at + WALK_OUT_S + WALK_BACK_S, *spot),
    ]


def _alert(rule: RuleId, severity: Severity, scene_rules: RuleOverrides,
           threshold_key: str, condition_start_s: float, end_s: float | None, times: Sequence[float],
           room_id: str, camera_id: str) -> TruthAlert:
    start_s = condition_start_s + float(scene_rules[rule][threshold_key])
    # Truth the footage cannot show (an alert firing, or clearing, after the last analysed
    # frame) would fail every analysis; catch it when the scene is written instead.
    if start_s > times[-1]:
        raise ValueError(f"{rule.value} {severity.value} fires at {start_s:.1f} s, after the footage ends")
    if end_s is not None and end_s + float(scene_rules[rule]["clear_s"]) > times[-1]:
        raise ValueError(f"{rule.value} ends at {end_s:.1f} s, too late to clear before the footage ends")
    return TruthAlert(rule, camera_id, room_id, severity, round(start_s, 3), round(condition_start_s, 3),
                      None if end_s is None else round(end_s, 3))


def _interrogation(name: str, summary: str, actors: tuple[Actor, ...], duration_s: float,
                   single_officer_after_s: float,
                   alone_spells: Callable[[Sequence[float]], list[tuple[float, float | None]]]) -> Scene:
    """An interrogation room scene; `alone_spells` gives, from the analysed frame times, the
    (start, end or None) of each spell with exactly one officer."""
    timeline = Timeline(actors, duration_s)
    times = analysed_times(timeline, ANALYSIS_FPS)
    rules: RuleOverrides = {RuleId.SINGLE_OFFICER: {"after_s": single_officer_after_s, "clear_s": 10.0},
                            **NO_CUSTODY_RECORDS}
    room_id, camera_id = "interrogation-1", "cam-i1"
    return Scene(
        name=name,
        summary=summary,
        timeline=timeline,
        room_id=room_id,
        room_type=RoomType.INTERROGATION,
        rules=rules,
        camera_id=camera_id,
        zones={Zone.OFFICER_AREA: OFFICER_AREA, Zone.DETAINEE_SEAT: DETAINEE_SEAT},
        truth=tuple(
            _alert(RuleId.SINGLE_OFFICER, Severity.ALARM, rules, "after_s", start, end, times,
                   room_id, camera_id)
            for start, end in alone_spells(times)
        ),
    )


def interrogation_officer_leaves(cutouts: Mapping[str, Cutout]) -> Scene:
    leave_at = 20.0
    leaver = Actor(cutouts["person_black"], Role.OFFICER,
                   _leave(OFFICER_SPOT_WINDOW, OFFICER_BACK_OF_ROOM, OFFICER_OUT_OF_VIEW, leave_at), seed=1)
    return _interrogation(
        "interrogation_officer_leaves",
        "Detainee seated, two officers; at 20 s one walks out and stays away: single_officer after 20 s.",
        (
            leaver,
            Actor(cutouts["grey_shirt_jeans"], Role.OFFICER, _stay(OFFICER_SPOT_TABLE), seed=2),
            Actor(cutouts["dark_hair_grey_top"], Role.DETAINEE, _stay(DETAINEE_SPOT), seed=3),
        ),
        duration_s=75.0,
        single_officer_after_s=20.0,
        alone_spells=lambda times: [
            (last_in_zone_before_leaving(leaver, OFFICER_AREA, times, leave_at), None),
        ],
    )


def interrogation_both_stay(cutouts: Mapping[str, Cutout]) -> Scene:
    window_x, window_y = OFFICER_SPOT_WINDOW
    table_x, table_y = OFFICER_SPOT_TABLE
    # Both officers shift their weight and step a little, always inside the officer area.
    stepped_x, stepped_y = window_x + 0.06, window_y - 0.03
    stepping = [Keyframe(0.0, window_x, window_y), Keyframe(30.0, window_x, window_y),
                Keyframe(32.0, stepped_x, stepped_y), Keyframe(50.0, stepped_x, stepped_y),
                Keyframe(52.0, window_x, window_y)]
    shifting = [Keyframe(0.0, table_x, table_y), Keyframe(40.0, table_x, table_y),
                Keyframe(41.5, table_x + 0.03, table_y + 0.02)]
    return _interrogation(
        "interrogation_both_stay",
        "Detainee seated, two officers who shift a little but stay for the whole scene: no alert.",
        (
            Actor(cutouts["black_tshirt"], Role.OFFICER, stepping, seed=4),
            Actor(cutouts["person_black"], Role.OFFICER, shifting, seed=5),
            Actor(cutouts["grey_cardigan"], Role.DETAINEE, _stay(DETAINEE_SPOT), seed=6),
        ),
        duration_s=75.0,
        single_officer_after_s=20.0,
        alone_spells=lambda _: [],
    )


def demo_interrogation_loop(cutouts: Mapping[str, Cutout]) -> Scene:
    leave_at, return_at = 15.0, 85.0
    leaver_path = (_leave(OFFICER_SPOT_WINDOW, OFFICER_BACK_OF_ROOM, OFFICER_OUT_OF_VIEW, leave_at)
                   + _come_back(OFFICER_SPOT_WINDOW, OFFICER_BACK_OF_ROOM, OFFICER_OUT_OF_VIEW, return_at))
    leaver = Actor(cutouts["black_tshirt"], Role.OFFICER, leaver_path, seed=7)
    return _interrogation(
        "demo_interrogation_loop",
        "Live demo, looped: two officers and a detainee; one officer is away from 15 s to 85 s, so "
        "single_officer (after 30 s) fires about 48 s into every loop and ends when they are back.",
        (
            leaver,
            Actor(cutouts["grey_shirt_jeans"], Role.OFFICER, _stay(OFFICER_SPOT_TABLE), seed=8),
            Actor(cutouts["dark_hair_grey_top"], Role.DETAINEE, _stay(DETAINEE_SPOT), seed=9),
        ),
        duration_s=105.0,
        single_officer_after_s=30.0,
        alone_spells=lambda times: [(last_in_zone_before_leaving(leaver, OFFICER_AREA, times, leave_at),
                                     first_in_zone_after(leaver, OFFICER_AREA, times, return_at))],
    )


def holding_guard_leaves(cutouts: Mapping[str, Cutout]) -> Scene:
    leave_at = 15.0
    guard = Actor(cutouts["grey_shirt_jeans"], Role.GUARD,
                  _leave(GUARD_SPOT, GUARD_BACK_OF_ROOM, GUARD_OUT_OF_VIEW, leave_at), seed=10)
    timeline = Timeline(
        (guard, Actor(cutouts["black_tshirt"], Role.DETAINEE, _stay(HOLDING_DETAINEE_SPOT), seed=11)),
        duration_s=60.0,
    )
    times = analysed_times(timeline, ANALYSIS_FPS)
    rules: RuleOverrides = {RuleId.GUARD_ABSENT: {"warn_after_s": 15.0, "alarm_after_s": 30.0},
                            **NO_CUSTODY_RECORDS}
    room_id, camera_id = "holding-1", "cam-h1"
    left_post = last_in_zone_before_leaving(guard, GUARD_POST, times, leave_at)
    return Scene(
        name="holding_guard_leaves",
        summary="A detainee in the holding room; the guard leaves the post at 15 s and stays away: "
                "guard_absent warning after 15 s, alarm after 30 s.",
        timeline=timeline,
        room_id=room_id,
        room_type=RoomType.HOLDING,
        rules=rules,
        camera_id=camera_id,
        zones={Zone.DETAINEE_AREA: DETAINEE_AREA, Zone.GUARD_POST: GUARD_POST},
        truth=tuple(
            _alert(RuleId.GUARD_ABSENT, severity, rules, key, left_post, None, times, room_id, camera_id)
            for severity, key in ((Severity.WARNING, "warn_after_s"), (Severity.ALARM, "alarm_after_s"))
        ),
    )


SceneBuilder = Callable[[Mapping[str, Cutout]], Scene]

SCENES: dict[str, SceneBuilder] = {
    "interrogation_officer_leaves": interrogation_officer_leaves,
    "interrogation_both_stay": interrogation_both_stay,
    "holding_guard_leaves": holding_guard_leaves,
    "demo_interrogation_loop": demo_interrogation_loop,
}


def build_scene(name: str, cutouts: Mapping[str, Cutout]) -> Scene:
    try:
        builder = SCENES[name]
    except KeyError:
        raise KeyError(f"unknown scene {name!r} (scenes: {', '.join(SCENES)})") from None
    return builder(cutouts)


# ---- writing scenes to disk ---------------------------------------------------------------


@dataclass(frozen=True)
class ScenePaths:
    video: Path
    config: Path
    truth: Path


def default_cutout_cache(out_dir: Path) -> Path:
    return out_dir / "cutouts"


def write_scene(name: str, out_dir: Path, cutout_cache: Path | None = None) -> ScenePaths:
    """Render, encode and describe one scene; cut-outs are cached in `cutout_cache`
    (default OUT_DIR/cutouts)."""
    out_dir = Path(out_dir).resolve()
    cutouts = load_cutouts(cutout_cache or default_cutout_cache(out_dir))
    return _write(build_scene(name, cutouts), out_dir)


def write_all(out_dir: Path, cutout_cache: Path | None = None) -> dict[str, ScenePaths]:
    out_dir = Path(out_dir).resolve()
    cutouts: dict[str, Cutout] = load_cutouts(cutout_cache or default_cutout_cache(out_dir))
    return {name: _write(build_scene(name, cutouts), out_dir) for name in SCENES}


def _write(scene: Scene, out_dir: Path) -> ScenePaths:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = ScenePaths(
        video=out_dir / f"{scene.name}.mp4",
        config=out_dir / f"{scene.name}.yaml",
        truth=out_dir / f"{scene.name}.truth.jsonl",
    )
    renderer = Renderer(scene.timeline, read_image(empty_room_path()))
    encode_h264(renderer.frames(), paths.video, scene.timeline.fps)
    header = (f"# Scene {scene.name}: {scene.summary}\n"
              f"# Generated by custodywatch.scenes; expected alerts: {paths.truth.name}\n")
    paths.config.write_text(header + yaml.safe_dump(scene.config(str(paths.video)), sort_keys=False,
                                                               default_flow_style=None),
                            encoding="utf-8")
    paths.truth.write_text("".join(json.dumps(alert.to_dict()) + "\n" for alert in scene.truth),
                           encoding="utf-8")
    return paths
