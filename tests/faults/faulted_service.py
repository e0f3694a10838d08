"""The whole service (`custodywatch run`) against a real RTSP camera, for process-fault tests:
its health, its metrics, its children by name, and its archive index."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from faults_service import write_camera
from prometheus_client.parser import text_string_to_metric_families
from service_process import add_user, descendants, login, start_service, stop_within, wait_ready

from custodywatch.pipeline.process import process_title
from custodywatch.recorder.index import GapRecord, SegmentRecord, parse_record
from custodywatch.rtsp_server import RtspLoopServer

CAMERA = "cam-f1"


@dataclass
class FaultedService:
    proc: subprocess.Popen[str]
    base: str
    headers: dict[str, str]
    server: RtspLoopServer
    data: Path
    log: Path

    @property
    def archive(self) -> Path:
        return self.data / "archive"

    def health(self) -> tuple[int, dict[str, Any]]:
        response = httpx.get(self.base + "healthz", timeout=10)
        return response.status_code, response.json()

    def camera(self) -> dict[str, Any]:
        return dict(self.health()[1]["cameras"][CAMERA])

    def metrics(self) -> dict[tuple[str, str], float]:
        """Prometheus samples as {(name, camera, worker or process label): value}."""
        out = {}
        for family in text_string_to_metric_families(httpx.get(self.base + "metrics", timeout=10).text):
            for sample in family.samples:
                labels = sample.labels
                label = labels.get("camera") or labels.get("worker") or labels.get("process") or ""
                out[(sample.name, label)] = sample.value
        return out

    def analysed(self) -> float:
        return self.metrics().get(("custodywatch_camera_frames_analysed_total", CAMERA), 0.0)

    def pid_of(self, component: str) -> int | None:
        """The process running `component` now (children name themselves cw-<component>)."""
        for pid in descendants(self.proc.pid):
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == process_title(component):
                    return pid
            except OSError:
                continue
        return None

    def children(self) -> set[int]:
        return descendants(self.proc.pid)

    def shm_segments(self) -> list[str]:
        return sorted(n for n in os.listdir("/dev/shm") if n.startswith(f"cw-{self.proc.pid}-"))

    def records(self) -> list[SegmentRecord | GapRecord]:
        out: list[SegmentRecord | GapRecord] = []
        path = self.archive / "index.jsonl"
        if not path.exists():
            return out
        for line in path.read_text().splitlines():
            try:
                record = parse_record(line)
            except ValueError:
                continue  # the line being written
            if isinstance(record, SegmentRecord | GapRecord):
                out.append(record)
        return out

    def gaps(self) -> list[GapRecord]:
        return [r for r in self.records() if isinstance(r, GapRecord)]

    def segments(self) -> list[SegmentRecord]:
        return [r for r in self.records() if isinstance(r, SegmentRecord)]

    def stop(self) -> int:
        return stop_within(self.proc, signal.SIGTERM)


@contextmanager
def faulted_service(tmp: Path, settings: dict[str, Any]) -> Iterator[FaultedService]:
    """One corridor camera served by a real RTSP server, the service run with `settings` merged in."""
    video = write_camera(tmp / "camera.mp4", [("room", 20)])
    with RtspLoopServer({CAMERA: video}) as server:
        cfg = {
            "site": {"id": "test", "box_id": "box1"},
            "rooms": [{"id": "corridor-1", "type": "corridor"}],
            "cameras": [{"id": CAMERA, "room": "corridor-1", "detect_url": server.url(CAMERA), "fps": 2}],
            **settings,
        }
        config = tmp / "cameras.yaml"
        config.write_text(yaml.safe_dump(cfg))
        data = tmp / "data"
        env = dict(os.environ, CUSTODYWATCH_DATA=str(data))
        add_user(env)
        log_path = tmp / "service.log"
        with log_path.open("w") as log:
            proc = start_service(config, env, log)
            try:
                base = wait_ready(proc)
                yield FaultedService(proc, base, login(base), server, data, log_path)
            finally:
                if proc.poll() is None:
                    stop_within(proc, signal.SIGTERM)


def run_verify(archive: Path, data: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CUSTODYWATCH_DATA=str(data))
    return subprocess.run([sys.executable, "-m", "custodywatch.cli", "verify", str(archive)], env=env,
                          capture_output=True, text=True, timeout=60)
