"""Reader processes: a few cameras each, one thread per camera, frames handed off through shm.

A camera thread reconnects with back-off (0.5 s doubling to 10 s) and a new timestamp mapping per
connection; the hand-off to the detector is bounded and lossy, so a slow detector costs dropped
(and counted) frames, never a growing queue.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.synchronize import Event
from typing import ClassVar

import zmq

from custodywatch.config import redact_url
from custodywatch.pipeline.messages import CameraHealth, FrameReady
from custodywatch.pipeline.process import Component, heartbeat
from custodywatch.pipeline.shm import FrameRing, segment_prefix, unlink_segments
from custodywatch.pipeline.source import Frame, SourceCounters, SourceError, read_frames

log = logging.getLogger("custodywatch.reader")

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 10.0
THREADS_JOIN_S = 2.0


@dataclass(frozen=True)
class CameraSource:
    id: str
    url: str
    fps: float
    worker: int = 0  # the detector worker that analyses this camera, in order


class _RateMeter:
    """A rate over the last second or more of a count that only grows."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()
        self._c0 = 0
        self.rate = 0.0

    def sample(self, count: int) -> float:
        now = time.monotonic()
        if now - self._t0 >= 1.0:
            self.rate = (count - self._c0) / (now - self._t0)
            self._t0, self._c0 = now, count
        return self.rate


class CameraThread(threading.Thread):
    def __init__(self, source: CameraSource, zctx: zmq.Context[zmq.Socket[bytes]],
                 frames_endpoint: str, service_id: str, stop: Event, open_timeout_s: float,
                 read_timeout_s: float):
        super().__init__(name=f"read-{source.id}", daemon=True)
        self.source = source
        self.health = CameraHealth(source.id)
        self._zctx, self._endpoint, self._service_id = zctx, frames_endpoint, service_id
        self._stop_event = stop
        self._timeouts = (open_timeout_s, read_timeout_s)
        self.counters = SourceCounters()
        self._handed_off = 0
        self._received_rate = _RateMeter()
        self._analysed_rate = _RateMeter()
        self._ring: FrameRing | None = None
        self._generation = 0

    def snapshot(self) -> CameraHealth:
        self.health.fps_in = round(self._received_rate.sample(self.counters.received), 2)
        self.health.fps_analysed = round(self._analysed_rate.sample(self._handed_off), 2)
        self.health.received = self.counters.received
        self.health.handed_off = self._handed_off
        self.health.clock_drift_s = self.counters.clock_drift_s
        self.health.corrupt = self.counters.corrupt
        report = CameraHealth(**vars(self.health))
        # A stalled server keeps the socket open and the read blocked until its timeout fails it;
        # the watch desk should not wait that long to see the camera is gone.
        before_last = self.counters.previous_packet_at
        if report.connected and (before_last is None or time.monotonic() - before_last > self._timeouts[1]):
            report.connected = False
        return report

    def run(self) -> None:
        sock = self._zctx.socket(zmq.PUSH)
        # A frame that would wait behind two others is better dropped (and counted).
        sock.setsockopt(zmq.SNDHWM, 2)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self._endpoint)
        backoff = BACKOFF_START_S
        src = self.source
        try:
            while not self._stop_event.is_set():
                try:
                    for frame in read_frames(src.id, src.url, src.fps, realtime_files=True,
                                             open_timeout_s=self._timeouts[0],
                                             read_timeout_s=self._timeouts[1],
                                             counters=self.counters):
                        if not self.health.connected:
                            log.info("%s: connected to %s", src.id, redact_url(src.url))
                        self.health.connected, self.health.error = True, None
                        backoff = BACKOFF_START_S
                        self.health.last_frame_at = frame.wall
                        self._hand_off(sock, frame)
                        if self._stop_event.is_set():
                            break
                except SourceError as exc:
                    self.health.error = str(exc)
                    log.warning("%s: %s", src.id, exc)
                if self._stop_event.is_set():
                    break
                self.health.connected = False
                self.health.reconnects += 1
                self._stop_event.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
        finally:
            sock.close()
            if self._ring is not None:
                self._ring.close()

    def release_ring(self) -> None:
        """Unlink the frame ring now (the thread is stuck in a read and the process is exiting)."""
        ring, self._ring = self._ring, None
        if ring is not None:
            ring.close()

    def _hand_off(self, sock: zmq.Socket[bytes], frame: Frame) -> None:
        image = frame.image
        h, w = image.shape[:2]
        if self._ring is None or (self._ring.height, self._ring.width) != (h, w):
            if self._ring is not None:
                self._ring.close()
            self._generation += 1
            name = f"{segment_prefix(self._service_id, os.getpid())}{self.source.id}-{self._generation}"
            self._ring = FrameRing(name, h, w)
        handle = self._ring.write(image)
        msg = FrameReady(self.source.id, handle, frame.stream_s, frame.wall, frame.index, time.time(),
                         frame.view())
        try:
            sock.send_pyobj(msg, flags=zmq.NOBLOCK)
            self._handed_off += 1
        except zmq.Again:
            self.health.dropped += 1


@dataclass
class ReaderGroup(Component):
    """One reader process: several cameras, one thread each."""

    kind: ClassVar[str] = "reader"
    name: str
    cameras: list[CameraSource]
    frames_endpoints: list[str]
    health_endpoint: str
    service_id: str
    open_timeout_s: float = 10.0
    read_timeout_s: float = 5.0

    def run(self, stop: Event) -> None:
        zctx = zmq.Context()
        # One worker per camera keeps its frames in order (the tracker and the motion meter need
        # consecutive frames); many cameras spread the load over the workers.
        threads = [CameraThread(cam, zctx, self.frames_endpoints[cam.worker % len(self.frames_endpoints)],
                                self.service_id, stop,
                                self.open_timeout_s, self.read_timeout_s) for cam in self.cameras]
        for t in threads:
            t.start()
        health = zctx.socket(zmq.PUSH)
        health.setsockopt(zmq.SNDHWM, 16)
        health.setsockopt(zmq.LINGER, 0)
        health.connect(self.health_endpoint)
        try:
            heartbeat()
            while not stop.wait(1.0):
                heartbeat()
                for t in threads:
                    try:
                        health.send_pyobj(t.snapshot(), flags=zmq.NOBLOCK)
                    except zmq.Again:
                        pass
        finally:
            # Threads see the stop event between frames; one stuck in a stalled read is a daemon
            # and is left behind rather than holding up the shutdown.
            deadline = time.monotonic() + THREADS_JOIN_S
            for t in threads:
                t.join(timeout=max(0.0, deadline - time.monotonic()))
                if t.is_alive():
                    t.release_ring()  # its own cleanup will not run before the process exits
            health.close()
            # A thread stuck in a stalled read still holds its socket: do not wait for it.
            zctx.destroy(linger=0)

    def after_exit(self, pid: int) -> None:
        # A killed reader could not unlink its frame rings; its restart creates new ones. They were
        # registered with the resource tracker this process shares with its children, which would
        # otherwise try to unlink them again at exit (and warn).
        for name in unlink_segments(segment_prefix(self.service_id, pid)):
            resource_tracker.unregister(f"/{name}", "shared_memory")
