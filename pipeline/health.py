"""Collects the health reports the child processes send, for /healthz and /metrics."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

import zmq

from custodywatch.pipeline.messages import CameraHealth, DetectorStats

# A camera whose reader has not reported for this long is treated as disconnected.
REPORT_STALE_S = 5.0


class HealthCollector:
    def __init__(self, endpoint: str, cameras: list[str]):
        self._endpoint = endpoint
        self._cameras: dict[str, CameraHealth] = {c: CameraHealth(c) for c in cameras}
        self._reported_at: dict[str, float] = {}
        self.detector = DetectorStats()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._zctx = zmq.Context()
        self._sock = self._zctx.socket(zmq.PULL)
        self._sock.bind(endpoint)
        self._thread = threading.Thread(target=self._run, name="health", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._sock.poll(200):
                continue
            msg = self._sock.recv_pyobj()
            with self._lock:
                if isinstance(msg, CameraHealth) and msg.camera in self._cameras:
                    self._cameras[msg.camera] = msg
                    self._reported_at[msg.camera] = time.monotonic()
                elif isinstance(msg, DetectorStats):
                    self.detector = msg

    def cameras(self) -> dict[str, CameraHealth]:
        now = time.monotonic()
        with self._lock:
            out = {}
            for cam, h in self._cameras.items():
                if now - self._reported_at.get(cam, -1e9) > REPORT_STALE_S:
                    h = replace(h, connected=False, fps_in=0.0, fps_analysed=0.0)
                dropped = (self.detector.dropped_stale.get(cam, 0)
                           + self.detector.dropped_overwritten.get(cam, 0))
                out[cam] = replace(h, dropped=h.dropped + dropped)
            return out

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self._sock.close(linger=0)
        self._zctx.term()
