"""The whole service as a real process tree for fault tests: a camera file served over the real
RTSP test server, `custodywatch run` started and killed, its children watched."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import psutil

READY_TIMEOUT_S = 120


def write_camera(path: Path, phases: list[tuple[str, float]], fps: int = 10) -> Path:
    """A room with some life in it (sensor noise), the lens covered (`dark`) in some phases."""
    rng = np.random.default_rng(5)
    room = np.repeat(np.repeat(rng.integers(30, 220, (45, 80, 3), np.uint8), 8, axis=0), 8, axis=1)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = 640, 360
        stream.pix_fmt = "yuv420p"
        stream.options = {"bf": "0", "g": str(fps), "preset": "veryfast"}
        n = 0
        for phase, seconds in phases:
            for _ in range(round(seconds * fps)):
                if phase == "dark":
                    image = np.full((360, 640, 3), 4, np.uint8)
                else:
                    noise = rng.integers(-6, 7, room.shape, np.int16)
                    image = np.clip(room.astype(np.int16) + noise, 0, 255).astype(np.uint8)
                frame = av.VideoFrame.from_ndarray(image, format="bgr24")
                frame.pts, frame.time_base = n, Fraction(1, fps)
                container.mux(stream.encode(frame))
                n += 1
        container.mux(stream.encode(None))
    return path


class ServiceProcess:
    """`custodywatch run` with its stderr in `log`; `url` once it printed its ready line."""

    def __init__(self, config: Path, env: dict[str, str], port: int, log: Path):
        self._log = log.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "custodywatch.cli", "run", "--config", str(config), "--port", str(port)],
            stdout=subprocess.PIPE, stderr=self._log, text=True, env=env)
        self.log = log

    def wait_ready(self) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("custodywatch ready: "):
                return line.split(": ", 1)[1].strip().rstrip("/")
            if not line and self.proc.poll() is not None:
                raise AssertionError(f"service exited {self.proc.returncode}:\n{self.tail()}")
        raise AssertionError(f"no ready line:\n{self.tail()}")

    def tail(self, chars: int = 4000) -> str:
        self._log.flush()
        return self.log.read_text()[-chars:]

    def children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kill_left_over(processes: list[psutil.Process]) -> None:
    """Cleanup only: what a failed test leaves must not load the machine for the next ones."""
    for p in processes:
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
