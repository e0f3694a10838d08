"""Collects the health reports the child processes send, for /healthz and /metrics."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

import zmq

from custodywatch.pipeline.messages import CameraHealth, DetectorStats

# A camera whose reader has not reported for this long is treated as disconnected.
REPORT_STALE_S = 5.0


@dataclass(frozen=True)
class CameraFigures:
    """One camera as the watch desk and /metrics see it: the reader's report plus what the
    detector workers did with its frames."""

    health: CameraHealth
    analysed: int = 0
    late: int = 0
    dropped_handoff: int = 0
    dropped_stale: int = 0
    dropped_overwritten: int = 0

    @property
    def dropped(self) -> int:
        return self.dropped_handoff + self.dropped_stale + self.dropped_overwritten


@dataclass(frozen=True)
class PipelineFigures:
    cameras: dict[str, CameraFigures]
    detectors: dict[str, DetectorStats] = field(default_factory=dict)


class HealthCollector:
    def __init__(self, endpoint: str, cameras: list[str]):
        self._endpoint = endpoint
        self._cameras: dict[str, CameraHealth] = {c: CameraHealth(c) for c in cameras}
        self._reported_at: dict[str, float] = {}
        self._detectors: dict[str, DetectorStats] = {}
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
                    self._detectors[msg.worker] = msg

    def set_cameras(self, cameras: list[str]) -> None:
        """The cameras of a reloaded config: a new one is reported from now on, a removed one no more."""
        with self._lock:
            self._cameras = {c: self._cameras.get(c, CameraHealth(c)) for c in cameras}

    def figures(self) -> PipelineFigures:
        now = time.monotonic()
        with self._lock:
            detectors = dict(self._detectors)
            cameras = {}
            for cam, h in self._cameras.items():
                if now - self._reported_at.get(cam, -1e9) > REPORT_STALE_S:
                    h = replace(h, connected=False, fps_in=0.0, fps_analysed=0.0)

                def total(counter: str, cam: str = cam) -> int:
                    return sum(getattr(d, counter).get(cam, 0) for d in detectors.values())

                cameras[cam] = CameraFigures(h, total("analysed"), total("late"), h.dropped,
                                             total("dropped_stale"), total("dropped_overwritten"))
            return PipelineFigures(cameras, detectors)

    def cameras(self) -> dict[str, CameraHealth]:
        """Each camera's health with every drop counted, wherever it happened."""
        return {cam: replace(f.health, dropped=f.dropped) for cam, f in self.figures().cameras.items()}

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self._sock.close(linger=0)
        self._zctx.term()
