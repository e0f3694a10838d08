"""The detector process: batches frames from every camera, drops stale ones, runs the model once
per batch, and passes the detections on."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path

import zmq

from custodywatch.config import DetectorConfig
from custodywatch.pipeline.messages import DetectorStats, FrameDetections, FrameReady
from custodywatch.pipeline.process import Component
from custodywatch.pipeline.shm import FrameRingReader

log = logging.getLogger("custodywatch.detector")


@dataclass
class BatchCollector:
    """Collects frames for at most `window_s` after the first, up to `batch_max`, and sorts out
    the ones older than the staleness budget."""

    batch_max: int
    window_s: float
    stale_s: float
    stats: DetectorStats = field(default_factory=DetectorStats)

    def collect(self, sock: zmq.Socket[bytes], poll_ms: int = 100) -> list[FrameReady]:
        if not sock.poll(poll_ms):
            return []
        batch: list[FrameReady] = [sock.recv_pyobj()]
        deadline = time.monotonic() + self.window_s
        while len(batch) < self.batch_max:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if not sock.poll(remaining_ms):
                break
            batch.append(sock.recv_pyobj())
        return self._fresh(batch)

    def _fresh(self, batch: list[FrameReady]) -> list[FrameReady]:
        now = time.time()
        fresh = []
        for msg in batch:
            if now - msg.sent_at > self.stale_s:
                self.stats.dropped_stale[msg.camera] = self.stats.dropped_stale.get(msg.camera, 0) + 1
            else:
                fresh.append(msg)
        return fresh


@dataclass
class DetectorService(Component):
    detector: DetectorConfig
    model_dir: str
    frames_endpoint: str
    detections_endpoint: str
    health_endpoint: str
    name: str = "detector"

    def run(self, stop: Event) -> None:
        from custodywatch.models.detector import Detector

        det = Detector.from_config(self.detector, Path(self.model_dir))
        det.warmup()
        log.info("model %s (%s) on %s, input %dx%d", self.detector.model, det.family, ",".join(det.providers),
                 *self.detector.input)
        collector = BatchCollector(self.detector.batch_max, self.detector.batch_window_ms / 1000,
                                   self.detector.stale_s)
        stats = collector.stats
        stats.providers = list(det.providers)
        frames = FrameRingReader()
        zctx = zmq.Context()
        pull = zctx.socket(zmq.PULL)
        pull.setsockopt(zmq.RCVHWM, 64)
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
                batch = collector.collect(pull)
                images, kept = [], []
                for msg in batch:
                    image = frames.read(msg.handle)
                    if image is None:
                        overwritten = stats.dropped_overwritten
                        overwritten[msg.camera] = overwritten.get(msg.camera, 0) + 1
                        continue
                    images.append(image)
                    kept.append(msg)
                if images:
                    t0 = time.perf_counter()
                    results = det.detect(images)
                    stats.last_inference_ms = (time.perf_counter() - t0) * 1000
                    stats.last_batch_size = len(images)
                    stats.batches += 1
                    stats.frames += len(images)
                    for msg, image, dets in zip(kept, images, results, strict=True):
                        h, w = image.shape[:2]
                        push.send_pyobj(FrameDetections(msg.camera, msg.wall, msg.index, (w, h), dets))
                if time.monotonic() - last_report >= 1.0:
                    last_report = time.monotonic()
                    try:
                        health.send_pyobj(stats, flags=zmq.NOBLOCK)
                    except zmq.Again:
                        pass
        finally:
            frames.close()
            zctx.destroy(linger=0)
