"""The detector worker process: frames from several cameras through shared memory, one batch,
the same detections as one by one; stale frames dropped and counted; batches sized to the budget."""
from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import zmq

from custodywatch.config import DetectorConfig
from custodywatch.models.detector import Detector
from custodywatch.paths import shared_dir
from custodywatch.pipeline.detector_service import BatchCollector, DetectorService
from custodywatch.pipeline.messages import DetectorStats, FrameDetections, FrameReady
from custodywatch.pipeline.process import ChildProcess
from custodywatch.pipeline.shm import FrameRing
from custodywatch.rules.motion import MOTION_KEY

PHOTOS = ["bus.jpg", "zidane.jpg", "COCO_val2014_000000000241.jpg", "COCO_val2014_000000000294.jpg"]


def _frame(name: str) -> np.ndarray:
    image = cv2.imread(str(shared_dir() / "media" / "photos" / name))
    assert image is not None, name
    return cv2.resize(image, (640, 360))


def _handle(handle, camera: str, wall: float, index: int = 0) -> FrameReady:
    return FrameReady(camera, handle, 0.0, wall, index, wall)


def test_frames_from_four_cameras_batched_give_the_detections_of_one_by_one(tmp_path: Path) -> None:
    # A long window makes one batch of the four; a long budget keeps a slow CI box from dropping any.
    cfg = DetectorConfig(providers=["cpu"], batch_window_ms=300, stale_s=10, workers=1)
    frames_ep, dets_ep, health_ep = (f"ipc://{tmp_path / n}" for n in ("frames", "dets", "health"))
    ctx = zmq.Context()
    push, pull, health = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL), ctx.socket(zmq.PULL)
    pull.bind(dets_ep)
    health.bind(health_ep)
    cameras = [f"cam-{i}" for i in range(4)]
    service = DetectorService(cfg, str(shared_dir() / "models"), frames_ep, dets_ep, health_ep,
                              guard_posts={"cam-0": [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]})
    child = ChildProcess(service)
    rings = [FrameRing(f"cw-{os.getpid()}-test-{cam}-1", 360, 640) for cam in cameras]
    images = [_frame(p) for p in PHOTOS]
    child.start()
    try:
        push.connect(frames_ep)
        # The worker loads its model before it reads: wait for its first report.
        assert health.poll(60_000), "detector worker did not start"
        health.recv_pyobj()
        now = time.time()
        for cam, ring, image in zip(cameras, rings, images, strict=True):
            push.send_pyobj(_handle(ring.write(image), cam, now))
        got: dict[str, FrameDetections] = {}
        while len(got) < 4 and pull.poll(20_000):
            msg = pull.recv_pyobj()
            got[msg.camera] = msg
        stats: DetectorStats = health.recv_pyobj()
        deadline = time.monotonic() + 10
        while stats.frames < 4 and time.monotonic() < deadline and health.poll(3000):
            stats = health.recv_pyobj()
    finally:
        child.stop()
        for ring in rings:
            ring.close()
        ctx.destroy(linger=0)
    assert sorted(got) == cameras
    assert (stats.batches, stats.last_batch_size) == (1, 4), "the four frames were not one batch"
    alone = Detector.from_config(cfg, shared_dir() / "models")
    for cam, image in zip(cameras, images, strict=True):
        (expected,) = alone.detect([image])
        batched = got[cam].detections
        assert got[cam].size == (640, 360)
        assert len(batched) == len(expected) > 0, cam
        order, ref = np.lexsort(batched.xyxy.T), np.lexsort(expected.xyxy.T)
        np.testing.assert_allclose(batched.xyxy[order], expected.xyxy[ref], atol=0.5)
        np.testing.assert_allclose(batched.confidence[order], expected.confidence[ref], atol=1e-3)
    # Motion is measured only where a guard post needs it.
    assert MOTION_KEY in got["cam-0"].detections.data
    assert MOTION_KEY not in got["cam-1"].detections.data


@pytest.mark.parametrize(
    "ages, kept",
    [
        ([0.1, 0.2, 0.3], 3),
        ([0.1, 0.6, 2.0], 1),  # older than the 0.5 s budget since capture: dropped
        ([5.0], 0),
    ],
)
def test_frames_older_than_the_staleness_budget_are_dropped_and_counted(ages, kept) -> None:
    collector = BatchCollector(batch_max=16, window_s=0.005, stale_s=0.5)
    now = time.time()
    for i, age in enumerate(ages):
        collector.offer(_handle(None, f"cam-{i}", now - age))
    assert len(collector.take(16, now)) == kept
    assert sum(collector.stats.dropped_stale.values()) == len(ages) - kept


def test_an_overloaded_worker_keeps_each_cameras_newest_frame_and_serves_the_oldest_first() -> None:
    collector = BatchCollector(batch_max=16, window_s=0.005, stale_s=0.5)
    now = time.time()
    # A backlog: three frames of cam-a queued behind each other, one of cam-b.
    for age, cam in ((0.45, "cam-a"), (0.3, "cam-b"), (0.2, "cam-a"), (0.1, "cam-a")):
        collector.offer(_handle(None, cam, now - age))
    first = collector.take(1, now)
    assert [(m.camera, round(now - m.wall, 2)) for m in first] == [("cam-b", 0.3)]
    second = collector.take(1, now)
    assert [(m.camera, round(now - m.wall, 2)) for m in second] == [("cam-a", 0.1)]
    assert collector.stats.dropped_stale == {"cam-a": 2}
    assert collector.take(1, now) == []


def test_a_frame_the_batch_cannot_finish_in_time_is_dropped_not_analysed_late() -> None:
    collector = BatchCollector(batch_max=16, window_s=0.005, stale_s=0.5, per_image_s=0.05)
    now = time.time()
    for age, cam in ((0.42, "cam-a"), (0.3, "cam-b"), (0.1, "cam-c")):
        collector.offer(_handle(None, cam, now - age))
    # Three images take 0.15 s: cam-a (0.42 s old) would finish at 0.57 s, past the 0.5 s budget.
    batch = collector.take(16, now)
    assert [m.camera for m in batch] == ["cam-b", "cam-c"]
    assert collector.stats.dropped_stale == {"cam-a": 1}


@pytest.mark.parametrize(
    "per_image_s, cap",
    [
        (None, 16),  # nothing measured yet: the configured maximum
        (0.008, 16),  # 8 ms a frame: 25 would fit 0.4 x 0.5 s; capped at batch_max
        (0.02, 10),
        (0.5, 1),  # a very slow box still analyses one at a time
    ],
)
def test_batch_cap_keeps_one_batch_within_its_share_of_the_budget(per_image_s, cap) -> None:
    collector = BatchCollector(batch_max=16, window_s=0.005, stale_s=0.5, per_image_s=per_image_s)
    assert collector.cap == cap


def test_worker_reads_the_posture_at_the_guard_post_with_the_pose_model(tmp_path: Path) -> None:
    pose_model = "yolo11n_pose_coco_fp32_dynamic.onnx"
    if not (shared_dir() / "models" / pose_model).is_file():
        pytest.skip(f"{pose_model} is not there")
    cfg = DetectorConfig(providers=["cpu"], stale_s=10, workers=1, pose_model=pose_model)
    frames_ep, dets_ep, health_ep = (f"ipc://{tmp_path / n}" for n in ("frames", "dets", "health"))
    ctx = zmq.Context()
    push, pull, health = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL), ctx.socket(zmq.PULL)
    pull.bind(dets_ep)
    health.bind(health_ep)
    whole_view = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    child = ChildProcess(DetectorService(cfg, str(shared_dir() / "models"), frames_ep, dets_ep, health_ep,
                                         guard_posts={"cam-h1": whole_view}))
    # Named as the service names its rings (cw-<live pid>-...), so that a service starting in a
    # neighbouring test does not sweep it away as a killed run's.
    ring = FrameRing(f"cw-{os.getpid()}-test-cam-h1-1", 360, 640)
    child.start()
    try:
        push.connect(frames_ep)
        assert health.poll(60_000), "detector worker did not start"
        push.send_pyobj(_handle(ring.write(_frame("zidane.jpg")), "cam-h1", time.time()))
        assert pull.poll(20_000)
        out: FrameDetections = pull.recv_pyobj()
    finally:
        child.stop()
        ring.close()
        ctx.destroy(linger=0)
    # Two men standing at the "post": read as upright, so guard_asleep is not fed a sleeper.
    assert out.posture == "upright"
