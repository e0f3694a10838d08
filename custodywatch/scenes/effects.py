"""What happens to a camera's picture over a scene's timeline, apart from the people in it.

Each effect holds over `[start_s, end_s)`. Some only change the light (the room is still seen);
others take the room out of sight, and a correct analysis must report `video_loss` for them:
a covered lens, a blurred or sprayed lens, a camera turned away, a frozen picture, no frames.

Effects act at the stage of the camera where they happen in reality: the light on the scene,
then the lens, then the sensor (whose noise stays even in a dark or covered picture), and a frozen
decoder repeats whole output frames, noise included.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

FOREVER = math.inf


@dataclass(frozen=True)
class Effect:
    start_s: float
    end_s: float = FOREVER
    # Whether the effect takes the room out of sight (a `video_loss` condition while it holds).
    loses_video: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not self.end_s > self.start_s:
            raise ValueError(f"{type(self).__name__}: end {self.end_s} s must come after "
                             f"start {self.start_s} s")

    def active(self, t: float) -> bool:
        return self.start_s <= t < self.end_s


@dataclass(frozen=True)
class Lighting(Effect):
    """The room's light dims to `gain` of its level over `ramp_s`, and comes back the same way.

    `grey` is a camera switching to its night (infrared) mode: colour gone, structure kept.
    """

    gain: float = 0.5
    ramp_s: float = 2.0
    grey: bool = False

    def share(self, t: float) -> float:
        """How far the change has gone at `t`: 0 before and after, 1 in full effect."""
        if not self.active(t):
            return 0.0
        if self.ramp_s <= 0:
            return 1.0
        return min(1.0, (t - self.start_s) / self.ramp_s, (self.end_s - t) / self.ramp_s)

    def apply(self, image: np.ndarray, t: float) -> np.ndarray:
        share = self.share(t)
        if share == 0.0:
            return image
        if self.grey:
            grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
            image = cv2.addWeighted(image, 1.0 - share, grey, share, 0.0)
        return cv2.convertScaleAbs(image, alpha=1.0 - share * (1.0 - self.gain))


@dataclass(frozen=True)
class Covered(Effect):
    """Something over the lens: a dark, flat picture, a faint glow through the fingers or tape."""

    loses_video = True
    level: int = 8

    def apply(self, image: np.ndarray, t: float) -> np.ndarray:
        h, w = image.shape[:2]
        # A smooth glow of a few grey levels towards one corner: dark and flat, not a test card.
        ramp = np.linspace(0.0, 4.0, w, dtype=np.float32)[None, :] + np.linspace(0.0, 2.0, h,
                                                                                 dtype=np.float32)[:, None]
        covered = (self.level + ramp)[..., None].repeat(3, axis=2)
        return covered.astype(np.uint8)


@dataclass(frozen=True)
class Blurred(Effect):
    """A smeared or sprayed lens: everything out of focus behind a milky haze."""

    loses_video = True
    sigma_px: float = 14.0
    haze: float = 0.35

    def apply(self, image: np.ndarray, t: float) -> np.ndarray:
        # Blurred at a quarter of the size: the same picture, a sixteenth of the work.
        h, w = image.shape[:2]
        small = cv2.resize(image, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), self.sigma_px / 4)
        blurred = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        milk = float(blurred.mean()) + 40.0
        return cv2.convertScaleAbs(blurred, alpha=1.0 - self.haze, beta=self.haze * milk)


@dataclass(frozen=True)
class TurnedAway(Effect):
    """The camera knocked up and aside: it shows the upper wall and ceiling, never the floor.

    The new view is a real part of the room (top left of the empty room, twice as close), so it
    has all the structure of a working camera; only it is not the view the camera was set up for.
    """

    loses_video = True

    def view(self, background: np.ndarray) -> np.ndarray:
        h, w = background.shape[:2]
        wall = background[: h // 2, : w // 2]
        return cv2.resize(wall, (w, h), interpolation=cv2.INTER_LINEAR)


@dataclass(frozen=True)
class Frozen(Effect):
    """A hung decoder or encoder: the frame at `start_s` is sent again and again."""

    loses_video = True


@dataclass(frozen=True)
class NoFrames(Effect):
    """The camera sends nothing (network cut, camera rebooting): the video has a gap in time."""

    loses_video = True


@dataclass(frozen=True)
class Effects:
    """A timeline's effects, looked up by kind at a time."""

    items: tuple[Effect, ...] = ()

    def lighting(self, t: float) -> list[Lighting]:
        return [e for e in self.items if isinstance(e, Lighting) and e.active(t)]

    def lens(self, t: float) -> list[Covered | Blurred]:
        return [e for e in self.items if isinstance(e, Covered | Blurred) and e.active(t)]

    def turned_away(self, t: float) -> TurnedAway | None:
        return next((e for e in self.items if isinstance(e, TurnedAway) and e.active(t)), None)

    def frozen(self, t: float) -> Frozen | None:
        return next((e for e in self.items if isinstance(e, Frozen) and e.active(t)), None)

    def sends_frame(self, t: float) -> bool:
        return not any(isinstance(e, NoFrames) and e.active(t) for e in self.items)

    def room_in_sight(self, t: float) -> bool:
        """Whether the picture at `t` shows the room as the camera was set up to (lighting aside)."""
        return not any(e.loses_video and e.active(t) for e in self.items)

    def losses(self) -> list[Effect]:
        return sorted((e for e in self.items if e.loses_video), key=lambda e: e.start_s)
