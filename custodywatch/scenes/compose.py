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
from enum import StrEnum

import cv2
import numpy as np

from custodywatch.scenes.cutouts import Cutout
from custodywatch.scenes.effects import Effects
from custodywatch.scenes.props import Prop
from custodywatch.vocabulary import Role

# An awake person sways a little: amplitudes (share of frame) and frequencies (Hz) of the sway.
# Several incommensurate frequencies so no two frames repeat the same pose.
SWAY_X = ((0.0035, 0.31), (0.0015, 0.83), (0.0008, 1.7))
SWAY_Y = ((0.0012, 0.23), (0.0006, 1.1))
# Someone reading or typing: the feet stay put, the upper body leans a little to and fro. Shift of
# the top of the head (share of the person's height) and the frequencies (Hz) of the lean.
READING_LEAN = ((0.008, 0.45), (0.005, 1.3))
# Where the lean pivots: the hips, as a share of the person's height from the top.
HIP_SHARE = 0.55
# Sensor noise: uniform in [-SENSOR_NOISE, SENSOR_NOISE] grey levels (sigma about 2), so no two
# frames are identical and a frozen-picture check never sees a still scene as a dead camera.
SENSOR_NOISE = 3


def _sway(t: float, terms: tuple[tuple[float, float], ...], phases: tuple[float, ...]) -> float:
    return sum(amplitude * math.sin(2 * math.pi * hz * t + phase)
               for (amplitude, hz), phase in zip(terms, phases, strict=True))


class Activity(StrEnum):
    """How a person moves where they stand."""

    AWAKE = "awake"  # sways a little, as anyone standing or sitting awake does
    STILL = "still"  # not a pixel of movement: asleep, or a cut-out left alone
    READING = "reading"  # feet and hips still, the upper body moving a little: reading, typing


@dataclass(frozen=True)
class Keyframe:
    """Where an actor's anchor is at time `t` (seconds); `visible` and `activity` hold until the
    next keyframe."""

    t: float
    x: float
    y: float
    visible: bool = True
    activity: Activity = Activity.AWAKE


KeyframeSpec = Keyframe | tuple[float, float, float] | tuple[float, float, float, bool]


@dataclass(frozen=True)
class Actor:
    """One person on the timeline.

    `height` is the person's height as a share of the frame height when their feet are at the
    bottom edge; higher up the floor (further from the camera) they are drawn smaller. A person
    who is not `awake` stands perfectly still between keyframes whatever their keyframes say;
    otherwise each keyframe's `activity` says how they move.
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
        return self._keyframe_before(t).visible

    def activity_at(self, t: float) -> Activity:
        return self._keyframe_before(t).activity if self.awake else Activity.STILL

    def lean_at(self, t: float) -> float:
        """How far the top of the head is shifted sideways at `t` (share of the person's height)."""
        if self.activity_at(t) is not Activity.READING:
            return 0.0
        return _sway(t, READING_LEAN, self._sway_phases[:len(READING_LEAN)])

    def _keyframe_before(self, t: float) -> Keyframe:
        return self._frames[max(0, bisect_right(self._times, t) - 1)]

    def anchor_at(self, t: float) -> tuple[float, float]:
        """The anchor at time `t`, sway included: exactly where the frame shows the feet."""
        x, y = self._scripted_at(t)
        if self.activity_at(t) is Activity.AWAKE:
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
    props: tuple[Prop, ...] = ()
    effects: Effects = Effects()
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

    def hidden_share(self, actor: Actor, t: float) -> float:
        """How much of the actor's box the props in front of them cover at `t` (0..1)."""
        x0, y0, x1, y1 = self.box_at(actor, t)
        area = (x1 - x0) * (y1 - y0)
        _, feet = actor.anchor_at(t)
        covered = 0.0
        for prop in self.props:
            if prop.y <= feet:
                continue  # behind the person
            px0, py0, px1, py1 = prop.box(self.size)
            covered += max(0.0, min(x1, px1) - max(x0, px0)) * max(0.0, min(y1, py1) - max(y0, py0))
        return min(1.0, covered / area) if area > 0 else 1.0


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
        self._props = [self._prop_sprite(prop) for prop in timeline.props]
        self._frozen: tuple[int, np.ndarray] | None = None

    def frames(self) -> Iterator[np.ndarray | None]:
        """Every frame by index; None where the camera sends none (a gap in the video)."""
        for index in range(self.timeline.frame_count):
            sent = self.timeline.effects.sends_frame(self.timeline.frame_time(index))
            yield self.frame(index) if sent else None

    def frame(self, index: int) -> np.ndarray:
        timeline = self.timeline
        t = timeline.frame_time(index)
        frozen = timeline.effects.frozen(t)
        if frozen is not None:
            return self._frozen_frame(math.ceil(frozen.start_s * timeline.fps - 1e-9))
        return self._live_frame(index)

    def _live_frame(self, index: int) -> np.ndarray:
        timeline = self.timeline
        t = timeline.frame_time(index)
        turned = timeline.effects.turned_away(t)
        frame = turned.view(self.background) if turned is not None else self._room(t)
        for lighting in timeline.effects.lighting(t):
            frame = lighting.apply(frame, t)
        for lens in timeline.effects.lens(t):
            frame = lens.apply(frame, t)
        rng = np.random.default_rng([self.seed, index])
        noise = rng.integers(-SENSOR_NOISE, SENSOR_NOISE + 1, frame.shape, dtype=np.int8)
        return cv2.add(frame, noise, dtype=cv2.CV_8U)

    def _frozen_frame(self, index: int) -> np.ndarray:
        if self._frozen is None or self._frozen[0] != index:
            self._frozen = (index, self._live_frame(index))
        return self._frozen[1].copy()

    def _room(self, t: float) -> np.ndarray:
        """The room with its furniture and people at `t`, as the lens sees it."""
        frame = self.background.copy()
        placed: list[tuple[float, float, _Sprite]] = [
            (prop.x, prop.y, sprite) for prop, sprite in zip(self.timeline.props, self._props, strict=True)]
        for n, actor in enumerate(self.timeline.actors):
            if actor.is_visible(t):
                x, y = actor.anchor_at(t)
                placed.append((x, y, self._leaning(self._sprite(n, y), actor.lean_at(t))))
        # Far things (base higher up) first, so nearer ones cover them.
        for x, y, sprite in sorted(placed, key=lambda p: p[1]):
            self._paste(frame, sprite, x, y)
        return frame

    def _prop_sprite(self, prop: Prop) -> _Sprite:
        height_px = max(2, round(prop.height * self.timeline.size[1]))
        width_px = max(1, round(height_px * prop.aspect))
        scaled = cv2.resize(prop.bgra, (width_px, height_px), interpolation=cv2.INTER_AREA)
        return _Sprite(scaled[..., :3].astype(np.float32), scaled[..., 3:].astype(np.float32) / 255.0)

    @staticmethod
    def _leaning(sprite: _Sprite, lean: float) -> _Sprite:
        """The sprite with its upper body sheared sideways by `lean` of its height at the head."""
        if lean == 0.0:
            return sprite
        height, width = sprite.alpha.shape[:2]
        hips = round(height * HIP_SHARE)
        # x' = x + shear * (hips - y): no shift at the hips, `lean * height` at the top.
        shear = lean * height / hips
        matrix = np.array([[1.0, -shear, shear * hips], [0.0, 1.0, 0.0]], dtype=np.float32)

        def warp(image: np.ndarray) -> np.ndarray:
            upper = cv2.warpAffine(image[:hips], matrix, (width, hips), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            return np.concatenate([upper.reshape(hips, width, -1), image[hips:]], axis=0)

        return _Sprite(warp(sprite.bgr), warp(sprite.alpha))

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
