"""Property test of `video_loss` on frame arrival: real pictures of the room at random times, with
gaps from a dropped frame to a minute of silence, through the engine as `analyze` feeds it.

The expected alerts are worked out from the arrival times alone, by the rule of docs/rules.md:
3 s without a frame is a loss, from when the next frame was due (the last one + 1/fps); the
picture is back from the first frame of a run that goes on for 2 s without such a silence; the
alarm fires 20 s into a loss (not before the 30 s cooldown after the previous one ended) and ends
when the picture is back.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from custodywatch.config import parse_config
from custodywatch.paths import shared_dir
from custodywatch.rules.engine import RuleEngine
from custodywatch.rules.view import ViewSample, measure_view

FPS = 2.0
NO_FRAMES_S, CONFIRM_S = 3.0, 2.0
THRESHOLD_S, COOLDOWN_S = 20.0, 30.0  # video_loss defaults
CONFIG = parse_config("""\
rooms:
  - {id: corridor-1, type: corridor}
cameras:
  - {id: cam-c, room: corridor-1, detect_url: c.mp4, fps: 2}
""")


@pytest.fixture(scope="module")
def pictures() -> list[ViewSample]:
    """The empty room of the real clip with a live sensor's noise: no two pictures alike, so a
    picture repeated a second later (a frozen camera) never happens by accident."""
    room = cv2.imread(str(shared_dir() / "media" / "cutouts" / "empty_room_frame.png"))
    assert room is not None
    room = cv2.resize(room, (640, 360), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(21)
    base = room.astype(np.int16)
    return [measure_view(np.clip(base + rng.integers(-3, 4, size=base.shape, dtype=np.int16), 0, 255)
                         .astype(np.uint8)) for _ in range(64)]


Expected = list[tuple[str, float, float]]  # (kind, condition start, at)


def expected_alerts(frames: list[float], end: float) -> Expected:
    losses: list[tuple[float, float | None]] = []  # (lost from, back from)
    lost_from: float | None = None
    back_from: float | None = None
    for prev, t in zip([None, *frames[:-1]], frames, strict=True):
        silent = prev is not None and t - prev >= NO_FRAMES_S
        if silent and lost_from is None:
            assert prev is not None
            lost_from = prev + 1 / FPS
        if lost_from is None:
            continue
        if silent or back_from is None:
            back_from = t  # a silence interrupts a return: it starts again with this frame
        if t - back_from >= CONFIRM_S:
            losses.append((lost_from, back_from))
            lost_from = back_from = None
    if lost_from is None and end - frames[-1] >= NO_FRAMES_S:
        lost_from = frames[-1] + 1 / FPS
    if lost_from is not None:
        losses.append((lost_from, None))
    out: Expected = []
    quiet = -np.inf
    for start, back in losses:
        due = max(start + THRESHOLD_S, quiet)
        if back is None:
            if end >= due:
                out.append(("fired", start, due))
        elif back >= due:
            out += [("fired", start, due), ("ended", start, back)]
            quiet = back + COOLDOWN_S
    return out


def run(frames: list[float], end: float, pictures: list[ViewSample]) -> Expected:
    engine = RuleEngine(CONFIG, new_id=lambda: "a")
    events = []
    prev = None
    for i, t in enumerate(frames):
        if prev is not None and t - prev > 2 * NO_FRAMES_S:
            events += engine.advance((prev + t) / 2)  # the live service ticks through a silence too
        events += engine.advance(t)
        engine.observe_view("cam-c", t, pictures[i % len(pictures)])
        events += engine.advance(t)
        prev = t
    events += engine.advance(end)
    events += engine.finish(end)
    return [(e.kind, e.condition_started_at, e.at) for e in events]


GAPS = st.one_of(st.just(0.5), st.just(0.5), st.just(0.5),
                 st.sampled_from([1.0, 2.0, 2.5, 3.0, 3.5, 5.0, 10.0, 19.5, 20.0, 20.5, 21.0, 40.0, 60.0]),
                 st.floats(0.05, 70.0, allow_nan=False))


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(GAPS, min_size=1, max_size=120), st.sampled_from([0.0, 1.0, 2.5, 3.0, 25.0, 60.0]))
# A camera on a failing link: one frame every 3.5 s is no picture, however long it goes on.
@example([0.5] * 20 + [3.5] * 20, 0.0)
# One frame after a long silence, then silence again: the picture came back only at the end.
@example([0.5] * 20 + [60.0, 10.0] + [0.5] * 10, 0.0)
def test_video_loss_follows_frame_arrival(pictures: list[ViewSample], gaps: list[float], tail: float) -> None:
    frames = [0.0]
    for gap in gaps:
        frames.append(frames[-1] + gap)
    end = frames[-1] + tail
    assert run(frames, end, pictures) == expected_alerts(frames, end)


def test_a_trickling_camera_stays_lost() -> None:
    """The oracle on a case worked out by hand: frames every 0.5 s to 9.5 s, then one every 3.5 s."""
    frames = [i * 0.5 for i in range(20)] + [9.5 + 3.5 * k for k in range(1, 21)]
    assert expected_alerts(frames, frames[-1]) == [("fired", 10.0, 30.0)]
