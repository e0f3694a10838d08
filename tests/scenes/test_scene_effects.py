"""What the generator's timeline features put in the encoded videos, checked on the real files.

Covered, blurred, turned-away and frozen pictures, a feed that stops; dim light and night; a guard
hidden behind the locker; officers crossing; a guard asleep (not a pixel of movement) against one
reading.
"""
from __future__ import annotations

import av
import cv2
import numpy as np
import pytest
import supervision as sv

from custodywatch.scenes.catalog import Scene, ScenePaths
from custodywatch.scenes.staging import GUARD_POST
from custodywatch.scenes.truth import HIDDEN_SHARE


def frames_at(paths: ScenePaths, times: list[float], fps: int = 10) -> dict[float, np.ndarray]:
    wanted = {round(t * fps): t for t in times}
    found: dict[float, np.ndarray] = {}
    with av.open(str(paths.video)) as container:
        for frame in container.decode(video=0):
            index = None if frame.time is None else round(frame.time * fps)
            if index in wanted:
                found[wanted[index]] = frame.to_ndarray(format="bgr24")
    assert len(found) == len(wanted), f"frames at {sorted(set(times) - set(found))} s missing"
    return found


def grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)


def sharpness(image: np.ndarray) -> float:
    """Mean |Laplacian| per unit of contrast: falls when the lens blurs, not when the light dims.
    Measured on a thumbnail, where edges count and the sensor's pixel noise averages out."""
    g = cv2.resize(grey(image), (160, 90), interpolation=cv2.INTER_AREA)
    return float(np.abs(cv2.Laplacian(g, cv2.CV_32F)).mean()) / max(float(g.std()), 1.0)


def people(detector, image: np.ndarray) -> sv.Detections:
    (found,) = detector.detect([image])
    return found


def anchors_in(found: sv.Detections, polygon, size=(640, 360)) -> int:
    contour = (np.asarray(polygon, np.float32) * np.array(size, np.float32)).reshape(-1, 1, 2)
    return sum(cv2.pointPolygonTest(contour, (float((x0 + x1) / 2), float(y1)), False) >= 0
               for x0, _, x1, y1 in found.xyxy)


def test_a_covered_lens_is_dark_and_flat_then_the_room_comes_back(scene, detector) -> None:
    frames = frames_at(scene("holding_camera_covered"), [5.0, 20.0, 37.0, 45.0])
    for t in (20.0, 37.0):
        g = grey(frames[t])
        assert g.mean() < 20 and g.std() < 4, f"at {t} s: mean {g.mean():.1f}, std {g.std():.1f}"
        assert len(people(detector, frames[t])) == 0
    for t in (5.0, 45.0):
        assert grey(frames[t]).std() > 30
        assert len(people(detector, frames[t])) == 2


def test_a_night_room_is_dark_but_keeps_its_structure_and_people(scene, detector) -> None:
    frames = frames_at(scene("holding_night"), [2.0, 20.0, 40.0])
    day, night = frames[2.0], frames[20.0]
    assert grey(night).mean() < 0.3 * grey(day).mean()
    assert grey(night).std() > 8, "walls, floor and people still stand out"
    # Night mode is grey: no colour left.
    b, g, r = cv2.split(night.astype(np.int16))
    assert max(np.abs(b - g).mean(), np.abs(g - r).mean()) < 3
    assert sharpness(night) > 0.6 * sharpness(day), "dark, not blurred"
    for t in (20.0, 40.0):
        assert len(people(detector, frames[t])) == 2, f"both people still found at {t} s"


def test_dimmed_lights_darken_the_room_and_come_back(scene) -> None:
    frames = frames_at(scene("interrogation_lights_dim"), [5.0, 25.0, 45.0])
    before, dim, after = (grey(frames[t]).mean() for t in (5.0, 25.0, 45.0))
    assert dim == pytest.approx(0.45 * before, rel=0.1)
    assert after == pytest.approx(before, rel=0.05)


def test_a_blurred_lens_loses_sharpness_and_people(scene, detector) -> None:
    frames = frames_at(scene("interrogation_lens_blurred"), [5.0, 20.0])
    assert sharpness(frames[20.0]) < 0.4 * sharpness(frames[5.0])
    assert len(people(detector, frames[5.0])) == 3
    assert len(people(detector, frames[20.0])) == 0


def test_a_turned_camera_shows_another_view_with_structure(scene, detector) -> None:
    frames = frames_at(scene("holding_camera_turned"), [5.0, 20.0])
    before, turned = grey(frames[5.0]), grey(frames[20.0])
    assert turned.std() > 20, "a real view, not a covered lens"
    small = [cv2.resize(g, (64, 36), interpolation=cv2.INTER_AREA).ravel() for g in (before, turned)]
    assert np.corrcoef(small)[0, 1] < 0.5, "the picture no longer looks like the room it was set up on"
    assert len(people(detector, frames[20.0])) == 0


def test_a_frozen_picture_repeats_one_frame_until_it_thaws(scene, scenes: dict[str, Scene]) -> None:
    times = [round(9.0 + i * 0.2, 1) for i in range(10)] + [round(10.0 + i * 0.2, 1) for i in range(150)]
    frames = frames_at(scene("holding_picture_frozen"), sorted(set(times + [41.0])))
    first = grey(frames[10.0])
    frozen = [float(np.abs(grey(frames[t]) - first).mean()) for t in times if 10.0 <= t < 40.0]
    live = [float(np.abs(grey(frames[t]) - grey(frames[round(t + 0.2, 1)])).mean())
            for t in times if t < 9.8]
    # Apart from the encoder refreshing the picture at each keyframe, nothing changes.
    assert max(frozen) < 1.0 and float(np.median(frozen)) < 0.2
    assert min(live) > 2 * float(np.median(frozen))
    assert float(np.abs(grey(frames[41.0]) - first).mean()) > 1.0, "the picture moves again after 40 s"
    assert not scenes["holding_picture_frozen"].timeline.effects.room_in_sight(20.0)


def test_the_locker_hides_the_guard_so_the_detector_finds_nobody_at_the_post(
        scene, scenes: dict[str, Scene], detector) -> None:
    timeline = scenes["holding_guard_hidden"].timeline
    guard = timeline.actors[0]
    assert timeline.hidden_share(guard, 14.5) > HIDDEN_SHARE and timeline.hidden_share(guard, 8.0) == 0
    frames = frames_at(scene("holding_guard_hidden"), [8.0, 14.5, 32.5, 40.0])
    for t in (8.0, 40.0):
        assert anchors_in(people(detector, frames[t]), GUARD_POST) == 1, f"guard at the post at {t} s"
    for t in (14.5, 32.5):
        found = people(detector, frames[t])
        assert anchors_in(found, GUARD_POST) == 0 and len(found) == 1, f"only the detainee seen at {t} s"


def test_crossing_officers_overlap_on_screen(scene, scenes: dict[str, Scene], detector) -> None:
    timeline = scenes["interrogation_officers_cross"].timeline
    first, second = timeline.actors[:2]
    overlap = [t for t in np.arange(10.0, 14.0, 0.2)
               if sv.box_iou_batch(np.array([timeline.box_at(first, t)]),
                                   np.array([timeline.box_at(second, t)]))[0, 0] > 0.3]
    assert overlap, "the officers' boxes never overlap much"
    middle = float(np.median(overlap))
    frames = frames_at(scene("interrogation_officers_cross"), [round(middle, 1), 5.0])
    assert len(people(detector, frames[5.0])) == 3
    found = people(detector, frames[round(middle, 1)])
    # Where they overlap, the detector sees one or two officers, never none: the scene is hard on
    # the tracker, not invisible.
    assert 2 <= len(found) <= 3


def motion_in_box(paths: ScenePaths, timeline, actor_index: int, start: float, end: float) -> float:
    """Mean |frame difference| inside the actor's box between frames 0.2 s apart (grey levels)."""
    times = [round(start + i * 0.2, 1) for i in range(int((end - start) / 0.2))]
    frames = frames_at(paths, times)
    x0, y0, x1, y1 = (np.array(timeline.box_at(timeline.actors[actor_index], start)) *
                      np.array(timeline.size * 2)).round().astype(int)
    diffs = [float(np.abs(grey(frames[a])[y0:y1, x0:x1] - grey(frames[b])[y0:y1, x0:x1]).mean())
             for a, b in zip(times, times[1:], strict=False)]
    return float(np.mean(diffs))


def test_a_sleeping_guard_is_stiller_than_one_reading(scene, scenes: dict[str, Scene]) -> None:
    asleep = scenes["holding_guard_asleep"].timeline
    reading = scenes["holding_guard_reading"].timeline
    awake_before = motion_in_box(scene("holding_guard_asleep"), asleep, 0, 2.0, 7.0)
    sleeping = motion_in_box(scene("holding_guard_asleep"), asleep, 0, 12.0, 20.0)
    reading_motion = motion_in_box(scene("holding_guard_reading"), reading, 0, 12.0, 20.0)
    assert sleeping < 0.5 * reading_motion < 0.5 * awake_before * 2
    # Reading moves only the upper body: the feet stay where they are.
    guard = reading.actors[0]
    assert {guard.anchor_at(t) for t in np.arange(0.0, 20.0, 0.5)} == {guard.anchor_at(0.0)}


def test_a_lost_feed_leaves_a_gap_in_the_video_and_comes_back_with_a_keyframe(scene) -> None:
    with av.open(str(scene("holding_feed_lost").video)) as container:
        frames = [(f.time, f.key_frame) for f in container.decode(video=0) if f.time is not None]
    times = [t for t, _ in frames]
    gaps = [(a, b) for a, b in zip(times, times[1:], strict=False) if b - a > 0.15]
    assert gaps == [(pytest.approx(9.9), pytest.approx(40.0))]
    assert dict(frames)[gaps[0][1]], "the first frame after the gap is a keyframe"
