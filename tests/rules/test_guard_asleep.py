"""guard_asleep: motion energy in the guard's box, stillness over time, posture, the rule."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from custodywatch.paths import shared_dir
from custodywatch.rules.guard_asleep import GuardAsleepRule
from custodywatch.rules.motion import MotionMeter
from custodywatch.rules.posture import Posture, posture_of
from custodywatch.rules.room import RoomObservation
from custodywatch.rules.stillness import STILL_MAX_ENERGY, GuardStillness
from custodywatch.rules.threshold import Level
from custodywatch.vocabulary import Role, Severity

G = Role.GUARD


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, np.ndarray]:
    room = cv2.imread(str(shared_dir() / "media" / "cutouts" / "empty_room_frame.png"))
    cutouts = shared_dir() / "media" / "cutouts"
    person = cv2.imread(str(cutouts / "person_blonde_rgba.png"), cv2.IMREAD_UNCHANGED)
    assert room is not None and person is not None
    return cv2.resize(room, (640, 360), interpolation=cv2.INTER_AREA), person


def frame_with(scene, dx: float, lean: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The room with the person at x=200+dx, upper body shifted by `lean` px; sensor noise on top."""
    room, person = scene
    p = cv2.resize(person, None, fx=200 / person.shape[0], fy=200 / person.shape[0])
    h, w = p.shape[:2]
    # shear: the top of the person moves by `lean`, the feet stay put
    shear = np.float32([[1, -lean / h, lean], [0, 1, 0]])
    p = cv2.warpAffine(p, shear, (w, h), flags=cv2.INTER_LINEAR)
    out = room.copy()
    x, y = int(200 + dx), 330 - h
    alpha = p[..., 3:] / 255.0
    out[y:y + h, x:x + w] = (p[..., :3] * alpha + out[y:y + h, x:x + w] * (1 - alpha)).astype(np.uint8)
    out = cv2.add(out, rng.integers(-3, 4, out.shape, dtype=np.int8), dtype=cv2.CV_8U)
    return out, np.array([[x, y, x + w, y + h]], np.float32)


def energies(scene, moves: list[tuple[float, float]]) -> list[float]:
    rng = np.random.default_rng(0)
    meter = MotionMeter()
    out = []
    for dx, lean in moves:
        image, box = frame_with(scene, dx, lean, rng)
        out.append(float(meter.measure(image, box)[0]))
    return out


def test_motion_energy_separates_asleep_from_reading_and_awake(scene):
    asleep = energies(scene, [(0, 0)] * 20)
    assert math.isnan(asleep[0])  # nothing to compare the first frame with
    assert max(asleep[1:]) <= STILL_MAX_ENERGY / 5
    t = np.arange(20) / 2.0  # 2 fps
    # reading: feet still, the head leaning a few pixels to and fro (0.8 % of height at 0.45 Hz)
    reading = energies(scene, [(0, 1.6 * math.sin(2 * math.pi * 0.45 * s)) for s in t])
    assert np.nanmedian(reading) > STILL_MAX_ENERGY
    # awake: a little sway of the whole body (a frame may repeat a position now and then)
    awake = energies(scene, [(2.2 * math.sin(2 * math.pi * 0.31 * s), 0) for s in t])
    assert np.nanmedian(awake) > STILL_MAX_ENERGY


def test_boxes_off_the_frame_and_missing_previous_frames_measure_nothing(scene):
    room, _ = scene
    meter = MotionMeter()
    boxes = np.array([[10, 10, 100, 100], [700, 10, 800, 100]], np.float32)
    assert np.isnan(meter.measure(room, boxes)).all()
    second = meter.measure(room, boxes)
    assert second[0] == 0.0 and np.isnan(second[1])
    assert np.isnan(meter.measure(cv2.resize(room, (320, 240)), boxes)).all()  # new shape: no previous


def stillness_changes(frames, postures=()):
    s = GuardStillness("cam")
    events = sorted([(t, "motion", e) for t, e in frames] + [(t, "posture", p) for t, p in postures],
                    key=lambda x: x[0])
    out = []
    for t, kind, value in events:
        out += s.observe(t, value) if kind == "motion" else s.observe_posture(t, value)
    return [(c.still, c.at) for c in out]


MOVING, STILL = [0.05], [0.0]


@pytest.mark.parametrize(
    "frames, postures, expected",
    [
        # moves until 10 s, then still: still from the first still frame
        ([(t / 2, MOVING if t < 20 else STILL) for t in range(60)], [], [(False, 0.0), (True, 10.0)]),
        # reading: a movement every 20 s keeps ending the stillness
        ([(t / 2, MOVING if t % 40 == 0 else STILL) for t in range(200)], [],
         [(False, 0.0), (True, 0.5), (False, 20.0), (True, 20.5), (False, 40.0), (True, 40.5), (False, 60.0),
          (True, 60.5), (False, 80.0), (True, 80.5)]),
        # nobody measured (no guard detection): stillness goes on
        ([(0.0, STILL), (1.0, []), (2.0, [float("nan")]), (3.0, STILL)], [], [(True, 0.0)]),
        # sitting up (pose model) vetoes asleep; slumped lets it count from the reading on
        ([(t / 2, STILL) for t in range(100)], [(5.0, Posture.UPRIGHT), (20.0, Posture.SLUMPED)],
         [(True, 0.0), (False, 5.0), (True, 20.0)]),
        # an upright reading goes stale after a minute without another
        ([(t / 2, STILL) for t in range(200)], [(5.0, Posture.UPRIGHT)],
         [(True, 0.0), (False, 5.0), (True, 65.0)]),
    ],
)
def test_guard_stillness(frames, postures, expected):
    assert stillness_changes(frames, postures) == expected


def test_guard_asleep_rule_needs_a_guard_that_is_still():
    rule = GuardAsleepRule([Level(Severity.WARNING, 180), Level(Severity.ALARM, 600)])
    script = [RoomObservation(0, {G: 1}, guard_still=False), RoomObservation(100, {G: 1}, guard_still=True),
              RoomObservation(500, {G: 0}, guard_still=True), RoomObservation(900, {G: 1}, guard_still=None)]
    out = []
    for obs in script:
        out += rule.step(obs.at, obs)
    out += rule.step(2000)
    assert [(s.kind, s.severity.value, s.condition_started_at, s.at) for s in out] == [
        ("fired", "warning", 100, 280), ("ended", "warning", 100, 500)]


def kp(points: dict[int, tuple[float, float]]) -> np.ndarray:
    out = np.zeros((17, 3), np.float32)
    for i, (x, y) in points.items():
        out[i] = (x, y, 0.9)
    return out


@pytest.mark.parametrize(
    "points, expected",
    [
        # sitting up, head over the shoulders
        ({0: (50, 20), 5: (40, 50), 6: (60, 50), 11: (42, 110), 12: (58, 110)}, Posture.UPRIGHT),
        # reading: head bent forward but still above the shoulders
        ({0: (58, 42), 5: (40, 50), 6: (60, 50), 11: (42, 110), 12: (58, 110)}, Posture.UPRIGHT),
        # head dropped on the chest
        ({0: (52, 58), 5: (40, 50), 6: (60, 50), 11: (42, 110), 12: (58, 110)}, Posture.SLUMPED),
        # slumped sideways: the torso 60 degrees from vertical
        ({0: (120, 40), 5: (100, 60), 6: (110, 70), 11: (42, 110), 12: (50, 112)}, Posture.SLUMPED),
        # no shoulders seen: nothing to say
        ({0: (50, 20)}, Posture.UNKNOWN),
    ],
)
def test_posture_from_keypoints(points, expected):
    assert posture_of(kp(points)) is expected


def test_the_real_pose_model_reads_standing_people_upright_and_people_lying_slumped():
    from custodywatch.models.detector import Detector
    from custodywatch.rules.posture import GuardPostureReader

    pose = Detector(shared_dir() / "models" / "yolo11n_pose_coco_fp32_dynamic.onnx", input_size=(320, 320),
                    providers=["cpu"])
    image = cv2.imread(str(shared_dir() / "media" / "photos" / "bus.jpg"))
    people = pose.detect([image])[0]
    standing = people.xyxy[people.confidence > 0.5]
    assert len(standing) >= 2
    reader = GuardPostureReader(pose, interval_s=10.0)
    assert reader.due(0.0)
    assert reader.read(0.0, image, standing) is Posture.UPRIGHT
    assert not reader.due(5.0) and reader.due(10.0)
    lying = pose.detect([cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)])[0]
    assert len(lying) >= 1
    assert {posture_of(k) for k in lying.data["keypoints"]} == {Posture.SLUMPED}


def test_guard_post_posture_reads_only_the_people_at_the_post_and_only_when_due():
    from custodywatch.models.detector import Detector
    from custodywatch.rules.posture import GuardPostPosture

    pose = Detector(shared_dir() / "models" / "yolo11n_pose_coco_fp32_dynamic.onnx", input_size=(320, 320),
                    providers=["cpu"])
    image = cv2.imread(str(shared_dir() / "media" / "photos" / "bus.jpg"))
    people = pose.detect([image])[0]
    boxes = people.xyxy[people.confidence > 0.5]
    everywhere = GuardPostPosture([(0, 0), (1, 0), (1, 1), (0, 1)], pose, interval_s=10.0)
    assert everywhere.read(0.0, image, boxes) is Posture.UPRIGHT
    assert everywhere.read(5.0, image, boxes) is None  # not due yet
    nobody_there = GuardPostPosture([(0, 0), (1, 0), (1, 0.2), (0, 0.2)], pose)
    assert nobody_there.read(0.0, image, boxes) is None
