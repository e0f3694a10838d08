"""Paste real people into the real empty room along a scripted timeline.

Positions are the person's anchor (bottom centre of their box, as the rules see it) in shares of
the frame, so a timeline reads like the zone polygons of a camera config. Rendering is a pure
function of the frame index: the same timeline always gives the same frames.
"""
from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from custodywatch.scenes.cutouts import Cutout
from custodywatch.vocabulary import Role

# An awake person sways a little: amplitudes (share of frame) and frequencies (Hz) of the sway.
# Several incommensurate frequencies so no two frames repeat the same pose.
SWAY_X = ((0.0035, 0.31), (0.0015, 0.83), (0.0008, 1.7))
SWAY_Y = ((0.0012, 0.23), (0.0006, 1.1))
# Sensor noise: uniform in [-SENSOR_NOISE, SENSOR_NOISE] grey levels (sigma about 2), so no two
# frames are identical and a frozen-picture check never sees a still scene as a dead camera.
SENSOR_NOISE = 3


def _sway(t: float, terms: tuple[tuple[float, float], ...], phases: tuple[float, ...]) -> float:
    return sum(amplitude * math.sin(2 * math.pi * hz * t + phase)
               for (amplitude, hz), phase in zip(terms, phases, strict=True))


@dataclass(frozen=True)
class Keyframe:
    """Where an actor's anchor is at time `t` (seconds); `visible` holds until the next keyframe."""

    t: float
    x: float
    y: float
    visible: bool = True


KeyframeSpec = Keyframe | tuple[float, float, float] | tuple[float, float, float, bool]


@dataclass(frozen=True)
class Actor:
    """One person on the timeline.

    `height` is the person's height as a share of the frame height when their feet are at the
    bottom edge; higher up the floor (further from the camera) they are drawn smaller. A person
    who is not `awake` stands perfectly still between keyframes.
    """

    cutout: Cutout
    role: Role
    keyframes: Sequence[KeyframeSpec]
    # 0.75 draws a person about 0.72 of the frame tall on the near floor: every cut-out is then
    # found by YOLOX-nano at 416x256 with confidence >= 0.5; at 0.6 the weakest drop below 0.3.
    height: float = 0.75
    awake: bool = True
    seed: int = 0
    _frames: tuple[Keyframe, ...] = field(init=False, repr=False, compare=False)
    _times: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _sway_phases: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        frames = tuple(k if isinstance(k, Keyframe) else Keyframe(*k) for k in self.keyframes)
        if not frames:
            raise ValueError(f"actor {self.cutout.name!r} has no keyframes")
        times = tuple(k.t for k in frames)
        if list(times) != sorted(times):
            raise ValueError(f"actor {self.cutout.name!r}: keyframe times must not decrease: {times}")
        object.__setattr__(self, "_frames", frames)
        object.__setattr__(self, "_times", times)
        phases = random.Random(self.seed)
        object.__setattr__(self, "_sway_phases",
                           tuple(phases.uniform(0, 2 * math.pi) for _ in SWAY_X + SWAY_Y))

    def is_visible(self, t: float) -> bool:
        return self._frames[max(0, bisect_right(self._times, t) - 1)].visible

    def anchor_at(self, t: float) -> tuple[float, float]:
        """The anchor at time `t`, sway included: exactly where the frame shows the feet."""
        x, y = self._scripted_at(t)
        if self.awake:
            x += _sway(t, SWAY_X, self._sway_phases[:len(SWAY_X)])
            y += _sway(t, SWAY_Y, self._sway_phases[len(SWAY_X):])
        return x, y

    def _scripted_at(self, t: float) -> tuple[float, float]:
        frames = self._frames
        i = bisect_right(self._times, t)
        if i == 0:
            return frames[0].x, frames[0].y
        if i == len(frames):
            return frames[-1].x, frames[-1].y
        a, b = frames[i - 1], frames[i]
        share = (t - a.t) / (b.t - a.t) if b.t > a.t else 1.0
        return a.x + share * (b.x - a.x), a.y + share * (b.y - a.y)



@dataclass(frozen=True)
class Timeline:
    """Who is where, when: the script of a scene, with the output video's size and rate."""

    actors: tuple[Actor, ...]
    duration_s: float
    fps: int = 10
    size: tuple[int, int] = (640, 360)
    # Where people shrink to nothing (share of frame height; negative: above the picture, since
    # room cameras look down). Apparent height grows linearly with the distance from it.
    horizon_y: float = -0.6

    @property
    def frame_count(self) -> int:
        return round(self.duration_s * self.fps)

    def frame_time(self, index: int) -> float:
        return index / self.fps

    def height_at(self, actor: Actor, y: float) -> float:
        """The actor's drawn height (share of frame height) with their feet at `y`."""
        return actor.height * (y - self.horizon_y) / (1.0 - self.horizon_y)

    def box_at(self, actor: Actor, t: float) -> tuple[float, float, float, float]:
        """Where the actor is drawn at `t` (x0, y0, x1, y1 in shares of the frame): the box a
        perfect detector would report, since cut-outs are cropped to the person."""
        x, y = actor.anchor_at(t)
        height = self.height_at(actor, y)
        half_width = height * self.size[1] * actor.cutout.aspect / self.size[0] / 2
        return x - half_width, y - height, x + half_width, y


@dataclass(frozen=True)
class _Sprite:
    bgr: np.ndarray  # float32
    alpha: np.ndarray  # float32, HxWx1, 0..1


class Renderer:
    """Draws a timeline's frames onto an empty room (BGR, any size: it is resized to the output)."""

    def __init__(self, timeline: Timeline, empty_room: np.ndarray, seed: int = 0):
        self.timeline = timeline
        self.seed = seed
        self.background: np.ndarray = cv2.resize(empty_room, timeline.size, interpolation=cv2.INTER_AREA)
        self._sprites: dict[tuple[int, int], _Sprite] = {}

    def frames(self) -> Iterator[np.ndarray]:
        for index in range(self.timeline.frame_count):
            yield self.frame(index)

    def frame(self, index: int) -> np.ndarray:
        t = self.timeline.frame_time(index)
        frame = self.background.copy()
        actors = self.timeline.actors
        placed = [(*actor.anchor_at(t), n) for n, actor in enumerate(actors) if actor.is_visible(t)]
        # Far people (feet higher up) first, so nearer ones cover them.
        for x, y, n in sorted(placed, key=lambda p: p[1]):
            self._paste(frame, self._sprite(n, y), x, y)
        rng = np.random.default_rng([self.seed, index])
        noise = rng.integers(-SENSOR_NOISE, SENSOR_NOISE + 1, frame.shape, dtype=np.int8)
        return cv2.add(frame, noise, dtype=cv2.CV_8U)

    def _sprite(self, actor_index: int, y: float) -> _Sprite:
        actor = self.timeline.actors[actor_index]
        height_px = max(2, round(self.timeline.height_at(actor, y) * self.timeline.size[1]))
        key = (actor_index, height_px)
        sprite = self._sprites.get(key)
        if sprite is None:
            width_px = max(1, round(height_px * actor.cutout.aspect))
            scaled = cv2.resize(actor.cutout.bgra, (width_px, height_px), interpolation=cv2.INTER_AREA)
            sprite = _Sprite(scaled[..., :3].astype(np.float32), scaled[..., 3:].astype(np.float32) / 255.0)
            self._sprites[key] = sprite
        return sprite

    def _paste(self, frame: np.ndarray, sprite: _Sprite, x: float, y: float) -> None:
        frame_w, frame_h = self.timeline.size
        sprite_h, sprite_w = sprite.alpha.shape[:2]
        left = round(x * frame_w - sprite_w / 2)
        top = round(y * frame_h) - sprite_h
        x0, y0 = max(left, 0), max(top, 0)
        x1, y1 = min(left + sprite_w, frame_w), min(top + sprite_h, frame_h)
        if x0 >= x1 or y0 >= y1:
            return
        region = frame[y0:y1, x0:x1].astype(np.float32)
        crop = (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
        alpha = sprite.alpha[crop]
        region += alpha * (sprite.bgr[crop] - region)
        frame[y0:y1, x0:x1] = region.astype(np.uint8)
