"""Detector worker processes: each batches frames from every camera, drops stale ones, runs the
model once per batch, and passes the detections on.

Each camera is analysed by one worker (its frames stay in order, and per-camera state such as the
motion meter lives there); cameras are spread over the workers, so more workers add throughput
without a broker in between.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import zmq

from custodywatch.config import DetectorConfig
from custodywatch.pipeline.messages import DetectorStats, FrameDetections, FrameReady
from custodywatch.pipeline.process import Component, heartbeat
from custodywatch.pipeline.shm import FrameRingReader
from custodywatch.rules.motion import MOTION_KEY, MotionMeter
from custodywatch.rules.posture import GuardPostPosture

if TYPE_CHECKING:
    from custodywatch.models.detector import Detector

log = logging.getLogger("custodywatch.detector")

DETECTOR_NICENESS = 5
# A batch may take at most this share of the staleness budget, leaving the rest to queueing.
BATCH_SHARE_OF_BUDGET = 0.4


def _count(counter: dict[str, int], camera: str, n: int = 1) -> None:
    counter[camera] = counter.get(camera, 0) + n


@dataclass
class BatchCollector:
    """Gathers the next batch: the frames waiting, plus those arriving within `window_s`, at most
    the batch cap, oldest first; frames captured longer ago than the staleness budget are dropped
    and counted.

    Everything waiting in the socket is taken in every round, and only each camera's newest frame
    is kept (an older one is a period old, past the budget): when the box is overloaded the queue
    stays one frame per camera deep, so the frames it does analyse are fresh, instead of every
    frame waiting behind a backlog and going stale.

    The cap follows the measured inference time per image, so that one batch fits in its share of
    the budget: a slow box gets smaller batches, not stale ones.
    """

    batch_max: int
    window_s: float
    stale_s: float
    stats: DetectorStats = field(default_factory=DetectorStats)
    per_image_s: float | None = None
    _waiting: dict[str, FrameReady] = field(default_factory=dict)

    @property
    def cap(self) -> int:
        if self.per_image_s is None or self.per_image_s <= 0:
            return self.batch_max
        return max(1, min(self.batch_max, int(self.stale_s * BATCH_SHARE_OF_BUDGET / self.per_image_s)))

    def timed(self, images: int, seconds: float) -> None:
        """Feed back how long a batch of `images` took."""
        sample = seconds / max(1, images)
        self.per_image_s = sample if self.per_image_s is None else 0.8 * self.per_image_s + 0.2 * sample

    def offer(self, msg: FrameReady) -> None:
        """A frame arrived: it replaces its camera's waiting frame, if any."""
        older = self._waiting.pop(msg.camera, None)
        if older is not None:
            _count(self.stats.dropped_stale, older.camera)
        self._waiting[msg.camera] = msg

    def _drain(self, sock: zmq.Socket[bytes]) -> None:
        while True:
            try:
                self.offer(sock.recv_pyobj(flags=zmq.NOBLOCK))
            except zmq.Again:
                return

    def collect(self, sock: zmq.Socket[bytes], poll_ms: int = 100) -> list[FrameReady]:
        if not self._waiting and not sock.poll(poll_ms):
            return []
        self._drain(sock)
        cap = self.cap
        deadline = time.monotonic() + self.window_s
        while len(self._waiting) < cap:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if not sock.poll(remaining_ms):
                break
            self._drain(sock)
        self.stats.batch_cap = cap
        return self.take(cap, time.time())

    def take(self, cap: int, now: float) -> list[FrameReady]:
        """Up to `cap` waiting frames, oldest first, that the batch can still finish within the
        budget; frames that cannot are dropped (and counted) rather than analysed late."""
        per_image = self.per_image_s or 0.0
        batch = sorted(self._waiting.values(), key=lambda m: m.wall)
        while batch and now - batch[0].wall + per_image * min(cap, len(batch)) > self.stale_s:
            late = batch.pop(0)
            del self._waiting[late.camera]
            _count(self.stats.dropped_stale, late.camera)
        batch = batch[:cap]
        for msg in batch:
            del self._waiting[msg.camera]
        return batch


@dataclass
class DetectorService(Component):
    """One detector worker: a process with its own model session and its own frames socket."""

    # Stops with the readers, not after them: frames are dropped freely anyway, and one analysed on
    # the way out is of no use; its detections are what analytics waits for.
    kind: ClassVar[str] = "detector"
    detector: DetectorConfig
    model_dir: str
    frames_endpoint: str
    detections_endpoint: str
    health_endpoint: str
    name: str = "detector"
    # Cameras watching a guard post, with its polygon: their frames get motion energy per person,
    # and, with a pose model configured, the posture at the post every few seconds.
    guard_posts: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def run(self, stop: Event) -> None:
        # Imported here: the service's main process never loads onnxruntime.
        from custodywatch.models.detector import Detector

        # Below readers and recorders: when the box runs out of CPU, decoding (which must keep up
        # with every frame) and recording go on, and detection analyses fewer, fresh frames.
        os.nice(DETECTOR_NICENESS)

        det = Detector.from_config(self.detector, Path(self.model_dir))
        det.warmup()
        log.info("%s: model %s (%s) on %s", self.name, self.detector.model, det.family,
                 ",".join(det.providers))
        collector = BatchCollector(self.detector.batch_max, self.detector.batch_window_ms / 1000,
                                   self.detector.stale_s, DetectorStats(worker=self.name))
        stats = collector.stats
        stats.providers = list(det.providers)
        meters: dict[str, MotionMeter] = {}
        postures: dict[str, GuardPostPosture] = {}
        if self.detector.pose_model:
            pose = Detector.from_config(self.detector.model_copy(update={"model": self.detector.pose_model,
                                                                         "family": "auto"}),
                                        Path(self.model_dir))
            postures = {cam: GuardPostPosture(post, pose) for cam, post in self.guard_posts.items()}
        frames = FrameRingReader()
        rings: dict[str, str] = {}  # camera -> the frame ring its frames come in now
        zctx = zmq.Context()
        pull = zctx.socket(zmq.PULL)
        # Small: a frame waiting here is ageing; when it is full the readers drop (and count).
        pull.setsockopt(zmq.RCVHWM, 8)
        pull.bind(self.frames_endpoint)
        push = zctx.socket(zmq.PUSH)
        push.setsockopt(zmq.SNDHWM, 256)
        push.setsockopt(zmq.LINGER, 1000)
        push.connect(self.detections_endpoint)
        health = zctx.socket(zmq.PUSH)
        health.setsockopt(zmq.LINGER, 0)
        health.connect(self.health_endpoint)
        last_report = 0.0
        try:
            while not stop.is_set():
                # Every turn, idle ones included (collect waits at most ~0.1 s for frames).
                heartbeat()
                batch = collector.collect(pull)
                images, kept = [], []
                for msg in batch:
                    if rings.get(msg.camera, msg.handle.shm) != msg.handle.shm:
                        # A new ring (the reader restarted, or the frame size changed): the old one
                        # is unlinked, and its mapping would otherwise hold its memory for good.
                        frames.forget(rings[msg.camera])
                    rings[msg.camera] = msg.handle.shm
                    image = frames.read(msg.handle)
                    if image is None:
                        _count(stats.dropped_overwritten, msg.camera)
                        continue
                    images.append(image)
                    kept.append(msg)
                if images:
                    for out in self._analyse(det, collector, kept, images, meters, postures):
                        push.send_pyobj(out)
                if time.monotonic() - last_report >= 1.0:
                    last_report = time.monotonic()
                    try:
                        health.send_pyobj(stats, flags=zmq.NOBLOCK)
                    except zmq.Again:
                        pass
        finally:
            frames.close()
            # Detections still queued go out first: analytics is asked to stop only once this
            # process has exited, so it receives them; frames and health reports are not waited for.
            push.close(linger=1000)
            zctx.destroy(linger=0)

    def _analyse(self, det: Detector, collector: BatchCollector, batch: list[FrameReady],
                 images: list[np.ndarray], meters: dict[str, MotionMeter],
                 postures: dict[str, GuardPostPosture]) -> list[FrameDetections]:
        stats = collector.stats
        started = time.time()
        t0 = time.perf_counter()
        results = det.detect(images)
        elapsed = time.perf_counter() - t0
        collector.timed(len(images), elapsed)
        done = started + elapsed
        stats.last_inference_ms = elapsed * 1000
        stats.last_queue_age_ms = max(started - m.wall for m in batch) * 1000
        stats.last_batch_size = len(images)
        stats.batches += 1
        stats.frames += len(images)
        out = []
        for msg, image, dets in zip(batch, images, results, strict=True):
            _count(stats.analysed, msg.camera)
            if done - msg.wall > self.detector.stale_s:
                _count(stats.late, msg.camera)
            posture = None
            if msg.camera in self.guard_posts:
                meter = meters.setdefault(msg.camera, MotionMeter())
                dets.data[MOTION_KEY] = meter.measure(image, dets.xyxy)
                if msg.camera in postures:
                    read = postures[msg.camera].read(msg.wall, image, dets.xyxy)
                    posture = None if read is None else read.value
            size = (image.shape[1], image.shape[0])
            out.append(FrameDetections(msg.camera, msg.wall, msg.index, size, dets, msg.view, posture))
        return out
