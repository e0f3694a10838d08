"""A camera that still sends frames but no longer shows its room: covered, blurred, turned away or
frozen. The real `video_loss` rule must alarm after its threshold; a room gone dark at night, whose
walls still show through the sensor noise, must not.

Every scenario is the real clip of the Intel room, at the analysis rate, through the engine as
`analyze` feeds it: 10 s of the room, 40 s of the fault, 20 s of the room again.
"""
from __future__ import annotations

from collections.abc import Callable

import av
import cv2
import numpy as np
import pytest

from custodywatch.config import parse_config
from custodywatch.paths import shared_dir
from custodywatch.rules.engine import RuleEngine
from custodywatch.rules.sight import LossReason
from custodywatch.rules.view import measure_view

FPS = 2.0
SIZE = (640, 360)
FAULT_FROM_S, FAULT_UNTIL_S, END_S = 10.0, 50.0, 70.0
THRESHOLD_S = 20.0  # video_loss default
REAL = shared_dir() / "media" / "real"
CONFIG = """\
rooms:
  - {id: holding-1, type: holding}
cameras:
  - id: cam-h1
    room: holding-1
    detect_url: holding.mp4
    fps: 2
    zones:
      detainee_area: [[0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [0.0, 1.0]]
      guard_post: [[0.6, 0.5], [1.0, 0.5], [1.0, 1.0], [0.6, 1.0]]
"""


def sampled(path: str, fps: float, seconds: float) -> list[np.ndarray]:
    """The file's frames at `fps` over its first `seconds` (looped if shorter), as the reader samples."""
    frames: list[tuple[float, np.ndarray]] = []
    with av.open(path) as c:
        for f in c.decode(video=0):
            if f.time is not None and f.time > seconds:
                break
            frames.append((float(f.time or 0.0),
                           cv2.resize(f.to_ndarray(format="bgr24"), SIZE, interpolation=cv2.INTER_AREA)))
    length = frames[-1][0] + (frames[-1][0] - frames[-2][0])
    out = []
    for i in range(int(seconds * fps)):
        t = (i / fps) % length
        out.append(next(img for ft, img in reversed(frames) if ft <= t + 1e-6))
    return out


@pytest.fixture(scope="module")
def room() -> list[np.ndarray]:
    """The real room, 70 s: empty at first, people walking in and out from about 6 s."""
    return sampled(str(REAL / "intel_one-by-one-person-detection.mp4"), FPS, END_S)


@pytest.fixture(scope="module")
def elsewhere() -> list[np.ndarray]:
    """Another real room (a classroom), the view of the camera once turned."""
    return sampled(str(REAL / "intel_classroom.gif"), FPS, END_S)


def sensor_noise(image: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    noise = rng.standard_normal(image.shape, dtype=np.float32) * sigma
    return np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)


Fault = Callable[[int, np.ndarray, list[np.ndarray], np.random.Generator], np.ndarray]

FAULTS: dict[str, Fault] = {
    # A hand or a cap over the lens: a little light leaks in, no structure at all.
    "covered": lambda i, frame, other, rng: sensor_noise(np.full_like(frame, 24), rng, 1.5),
    # Sprayed or fogged: the room's light and colours, none of its edges.
    "blurred": lambda i, frame, other, rng: cv2.GaussianBlur(frame, (0, 0), 9),
    # Pushed to look at another room, which has its own life.
    "turned away": lambda i, frame, other, rng: other[i],
    # The decoder or the camera stuck on the last picture while timestamps go on.
    "frozen": lambda i, frame, other, rng: other[int(FAULT_FROM_S * FPS) - 1],
}
REASONS = {"covered": LossReason.COVERED, "blurred": LossReason.BLURRED,
           "turned away": LossReason.TURNED_AWAY, "frozen": LossReason.FROZEN}


def run(frames: list[np.ndarray]) -> list[tuple[str, str, float, float, str]]:
    """The frames at FPS through the engine: (kind, rule, condition start, at, detail) of its events."""
    engine = RuleEngine(parse_config(CONFIG), new_id=lambda: "alert")
    events = []
    for i, frame in enumerate(frames):
        t = i / FPS
        events += engine.advance(t)
        engine.observe_view("cam-h1", t, measure_view(frame))
        events += engine.advance(t)
    events += engine.finish(END_S)
    return [(e.kind, e.rule.value, e.condition_started_at, e.at, e.detail) for e in events]


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_camera_that_no_longer_shows_its_room_raises_video_loss_after_its_threshold(
        fault: str, room: list[np.ndarray], elsewhere: list[np.ndarray]) -> None:
    rng = np.random.default_rng(11)
    other = room if fault == "frozen" else elsewhere
    frames = [FAULTS[fault](i, frame, other, rng) if FAULT_FROM_S <= i / FPS < FAULT_UNTIL_S else frame
              for i, frame in enumerate(room)]
    if fault == "frozen":
        # The same picture, bit for bit, while the stream's clock runs on.
        assert all(np.array_equal(frames[i], frames[int(FAULT_FROM_S * FPS) - 1])
                   for i in range(int(FAULT_FROM_S * FPS), int(FAULT_UNTIL_S * FPS)))
        started = FAULT_FROM_S  # the first repeat
    else:
        started = FAULT_FROM_S  # the first bad frame
    detail = f"cam-h1: {REASONS[fault]}"
    assert run(frames) == [
        ("fired", "video_loss", started, started + THRESHOLD_S, detail),
        ("ended", "video_loss", started, FAULT_UNTIL_S, detail),  # the picture is back
    ]


def test_a_fault_shorter_than_the_threshold_raises_nothing(room: list[np.ndarray]) -> None:
    """Covered for 15 s (someone standing against the lens): seen as lost, not yet an alarm."""
    rng = np.random.default_rng(12)
    frames = [FAULTS["covered"](i, f, room, rng) if 10 <= i / FPS < 25 else f for i, f in enumerate(room)]
    assert run(frames) == []


@pytest.mark.parametrize("gain, noise", [(0.12, 2.0), (0.06, 1.5)])
def test_a_room_dark_at_night_raises_no_video_loss(room: list[np.ndarray], gain: float, noise: float) -> None:
    """The lights dimmed to a few percent after the first 10 s: the room's structure is still there
    under the sensor noise, so nothing is lost however long the night."""
    rng = np.random.default_rng(13)
    frames = [sensor_noise(f.astype(np.float32) * gain, rng, noise) if i / FPS >= FAULT_FROM_S else f
              for i, f in enumerate(room)]
    dark = measure_view(frames[-1])
    assert dark.brightness < 255 * gain  # really dark: a tenth of the room's light or less
    assert run(frames) == []
