"""Whether a camera still shows its room: the input of the `video_loss` rule.

`SightMonitor` (one per camera) classifies each frame's ViewSample and reports when the picture
was lost and when it came back, with observed times:

- no frames: nothing arrived for NO_FRAMES_S; lost from when the next frame was due;
- frozen: the picture is the same as FROZEN_LAG_S before (a live sensor's noise always changes it
  over a second, even where a stream repeats a frame now and then; a stuck camera whose encoder
  goes on re-encoding one picture changes it by far less); lost from just after that earlier frame;
- covered: the picture is flat (a hand, tape, a cap: dark or not, no structure at all);
- blurred: sharpness fell below BLUR_RATIO of the reference view's (sprayed or fogged lens);
- turned away: too few regions of the picture still look like the reference view.

The reference view is the first picture with structure the camera sends, then follows slow changes
while the picture matches it well (furniture moved, daylight). Structure is compared after a log
and a high-pass filter, so a room that gets dark at night but still shows its walls matches its
daytime reference; sharpness is divided by contrast for the same reason. A loss counts once it
lasted CONFIRM_S (a person walking past the lens is no loss), from its first bad frame.
"""
from __future__ import annotations

import base64
from collections import deque
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from custodywatch.rules.changes import SightChange
from custodywatch.rules.view import LAYOUT_SIZE, ViewSample, picture_change

NO_FRAMES_S = 3.0
FROZEN_LAG_S = 1.0
# Mean grey change between detail pictures FROZEN_LAG_S apart below which the picture is frozen: a
# live camera measures 0.2 or more after H.264 (the Intel clip, composed scenes in the dark), a
# re-encoded stuck picture under 0.01.
FROZEN_MAX_CHANGE = 0.05
CONFIRM_S = 2.0
FLAT_LAYOUT_STD = 3.0  # grey levels over the coarse layout: no structure left
BLUR_RATIO = 0.45
BLUR_MIN_CONTRAST = 8.0  # below it sharpness is sensor noise, not focus
ADAPT_MIN_CONTRAST = 20.0  # learn the reference's sharpness only from a well-lit picture
REGION_GRID = (4, 3)
REGION_MATCH = 0.5  # correlation above which a region looks like the reference
TURNED_AWAY_MATCH = 0.3  # share of informative regions that must match
ADAPT_MATCH = 0.75
ADAPT_RATE = 0.02
INFORMATIVE_STD = 0.02  # a reference region flatter than this (log units) tells nothing


class LossReason:
    NO_FRAMES = "no frames"
    FROZEN = "frozen picture"
    COVERED = "lens covered"
    BLURRED = "lens blurred"
    TURNED_AWAY = "turned away from its view"


def structure(sample: ViewSample) -> np.ndarray:
    """The layout's structure, independent of the light level: log grey minus its smooth part."""
    grey = np.log1p(sample.layout_array().astype(np.float32))
    return grey - cv2.GaussianBlur(grey, (0, 0), 3)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    x = a.ravel() - a.mean()
    y = b.ravel() - b.mean()
    denom = float(np.sqrt(np.dot(x, x) * np.dot(y, y)))
    return 0.0 if denom < 1e-9 else float(np.dot(x, y)) / denom


def regions_matching(current: np.ndarray, reference: np.ndarray) -> float:
    """Share of the reference's informative regions that the current structure still matches (0..1).

    Region by region, so people in the room (covering a few regions) do not look like a turned
    camera (which changes nearly all of them).
    """
    w, h = LAYOUT_SIZE
    gw, gh = w // REGION_GRID[0], h // REGION_GRID[1]
    informative = matching = 0
    for j in range(REGION_GRID[1]):
        for i in range(REGION_GRID[0]):
            cell = np.s_[j * gh:(j + 1) * gh, i * gw:(i + 1) * gw]
            ref = reference[cell]
            if float(ref.std()) < INFORMATIVE_STD:
                continue
            informative += 1
            matching += _correlation(current[cell], ref) > REGION_MATCH
    return 1.0 if informative == 0 else matching / informative


@dataclass
class ReferenceView:
    structure: np.ndarray
    sharpness: float

    # Saved every few seconds for every camera: float16 in base64 keeps it to a few kB.
    def to_dict(self) -> dict[str, Any]:
        packed = base64.b64encode(self.structure.astype(np.float16).tobytes()).decode("ascii")
        return {"structure": packed, "shape": list(self.structure.shape), "sharpness": self.sharpness}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReferenceView:
        values = np.frombuffer(base64.b64decode(d["structure"]), dtype=np.float16).astype(np.float32)
        return cls(values.reshape(d["shape"]), float(d["sharpness"]))


def classify(sample: ViewSample, earlier: ViewSample | None, reference: ReferenceView | None) -> str | None:
    """Why this picture is no view of the room, or None when it is one; `earlier`: the picture
    FROZEN_LAG_S before."""
    # A covered lens shows one flat picture, which also never changes: name it for what it is.
    if float(sample.layout_array().std()) < FLAT_LAYOUT_STD:
        return LossReason.COVERED
    if earlier is not None and picture_change(sample, earlier) < FROZEN_MAX_CHANGE:
        return LossReason.FROZEN
    if reference is None:
        return None
    if sample.contrast >= BLUR_MIN_CONTRAST and sample.sharpness < BLUR_RATIO * reference.sharpness:
        return LossReason.BLURRED
    if regions_matching(structure(sample), reference.structure) < TURNED_AWAY_MATCH:
        return LossReason.TURNED_AWAY
    return None


class SightMonitor:
    """One camera's picture over time -> SightChange when it is lost and when it is back."""

    def __init__(self, camera: str, fps: float):
        self.camera = camera
        self.frame_interval_s = 1.0 / fps
        self.reference: ReferenceView | None = None
        self.lost = False
        self.reason = ""
        self.last_frame_at: float | None = None
        self._recent: deque[tuple[float, ViewSample]] = deque()  # the last FROZEN_LAG_S and one before
        self._bad_since: float | None = None
        self._bad_reason = ""
        self._good_since: float | None = None

    def observe(self, t: float, sample: ViewSample | None) -> list[SightChange]:
        """One analysed frame at `t`; `sample` None when the frame's view was not measured."""
        if self.last_frame_at is not None and t - self.last_frame_at >= NO_FRAMES_S:
            # Silence again since the picture came back: that was no return, only a frame or two
            # (a camera on a failing link trickles one every few seconds). Start the count again.
            self._good_since = None
        self.last_frame_at = t
        if sample is None:
            return self._judge(t, None, t)
        while len(self._recent) > 1 and t - self._recent[1][0] >= FROZEN_LAG_S:
            self._recent.popleft()
        earlier = self._recent[0] if self._recent and t - self._recent[0][0] >= FROZEN_LAG_S else None
        reason = classify(sample, None if earlier is None else earlier[1], self.reference)
        self._recent.append((t, sample))
        if reason is None:
            self._learn(sample)
        # A frozen picture has been the same since just after the earlier frame it matches.
        since = earlier[0] + self.frame_interval_s if reason == LossReason.FROZEN and earlier else t
        return self._judge(t, reason, since)

    def silence(self, now: float) -> list[SightChange]:
        """No frame until `now`: lost once nothing came for NO_FRAMES_S (watched from the first
        frame, or from `expect_frames`)."""
        if self.last_frame_at is None or self.lost or now - self.last_frame_at < NO_FRAMES_S:
            return []
        self.lost, self.reason = True, LossReason.NO_FRAMES
        self._bad_since, self._good_since = None, None
        self._recent.clear()  # the next picture is no repeat of one before the gap
        return [SightChange(self.camera, True, self.last_frame_at + self.frame_interval_s, self.reason)]

    def expect_frames(self, now: float) -> None:
        """Frames are due from `now` on: a camera that never sends one is lost too."""
        if self.last_frame_at is None:
            self.last_frame_at = now

    def _judge(self, t: float, reason: str | None, since: float) -> list[SightChange]:
        if reason is None:
            self._bad_since = None
            if not self.lost:
                return []
            if self._good_since is None:
                self._good_since = t
            if t - self._good_since >= CONFIRM_S:
                self.lost, self.reason = False, ""
                at, self._good_since = self._good_since, None
                return [SightChange(self.camera, False, at)]
            return []
        self._good_since = None
        if self.lost:
            return []
        if self._bad_since is None:
            self._bad_since = since
        self._bad_reason = reason
        if t - self._bad_since >= CONFIRM_S:
            self.lost, self.reason = True, reason
            at, self._bad_since = self._bad_since, None
            return [SightChange(self.camera, True, at, reason)]
        return []

    def _learn(self, sample: ViewSample) -> None:
        current = structure(sample)
        if self.reference is None:
            self.reference = ReferenceView(current, sample.sharpness)
            return
        if regions_matching(current, self.reference.structure) < ADAPT_MATCH:
            return
        ref = self.reference
        ref.structure = (1 - ADAPT_RATE) * ref.structure + ADAPT_RATE * current
        if sample.contrast >= ADAPT_MIN_CONTRAST:
            ref.sharpness = (1 - ADAPT_RATE) * ref.sharpness + ADAPT_RATE * sample.sharpness

    # ---- persistence -----------------------------------------------------------------------------

    # The reference view is kept apart from the rest: it is larger and changes slowly, so the
    # service saves it less often.
    def state(self) -> dict[str, Any]:
        return {"lost": self.lost, "reason": self.reason}

    def load_state(self, d: dict[str, Any]) -> None:
        self.lost, self.reason = bool(d.get("lost", False)), str(d.get("reason", ""))

    def reference_state(self) -> dict[str, Any] | None:
        return None if self.reference is None else self.reference.to_dict()

    def load_reference(self, d: dict[str, Any] | None) -> None:
        self.reference = None if d is None else ReferenceView.from_dict(d)
