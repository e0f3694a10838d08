"""End to end: a real RTSP server serving a composed scene, `custodywatch run` against it."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from service_process import (
    add_user,
    assert_nothing_left,
    descendants,
    login,
    stop_within,
    wait_for_alert,
    wait_ready,
)

from custodywatch.rtsp_server import RtspLoopServer


def _samples(text: str) -> dict[tuple[str, str], float]:
    """Prometheus text -> {(sample name, camera or worker label): value}."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            label = sample.labels.get("camera") or sample.labels.get("worker") or ""
            out[(sample.name, label)] = sample.value
    return out


@pytest.fixture
def served_scene(scene, tmp_path):
    s = scene("interrogation_officer_leaves")
    cfg = yaml.safe_load(s.config.read_text())
    cam = cfg["cameras"][0]["id"]
    with RtspLoopServer({cam: s.video}) as server:
        cfg["cameras"][0]["detect_url"] = server.url(cam)
        path = tmp_path / "cameras.yaml"
        path.write_text(yaml.safe_dump(cfg))
        yield path, cam


def test_run_raises_the_alert_and_stops_cleanly(served_scene, tmp_path):
    config, cam = served_scene
    env = dict(os.environ, CUSTODYWATCH_DATA=str(tmp_path / "data"))
    add_user(env)
    log = (tmp_path / "service.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "custodywatch.cli", "run", "--config", str(config), "--port", "0"],
        stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    page_stream = None
    try:
        base = wait_ready(proc)
        children = descendants(proc.pid)
        assert len(children) >= 3, "analytics, detector and a reader run as child processes"
        page = httpx.get(base, timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
        headers = login(base)
        alert = wait_for_alert(base, "single_officer", tmp_path / "service.log", headers=headers)
        assert alert["camera"] == cam and alert["severity"] == "alarm"
        health = httpx.get(base + "healthz", timeout=10)
        assert health.status_code == 200, health.text
        assert json.loads(health.text)["cameras"][cam]["connected"] is True
        metrics = _samples(httpx.get(base + "metrics", timeout=10).text)
        assert metrics[("custodywatch_camera_connected", cam)] == 1
        assert metrics[("custodywatch_camera_frames_analysed_total", cam)] > 0
        assert metrics[("custodywatch_camera_fps_in", cam)] > 0
        assert metrics[("custodywatch_detector_batches_total", "detector-0")] > 0
        # A watch-desk page keeps its event stream open; it must not hold the shutdown up.
        host, port = base.removeprefix("http://").rstrip("/").split(":")
        page_stream = socket.create_connection((host, int(port)), timeout=5)
        page_stream.sendall(
            f"GET /api/events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
            f"Authorization: {headers['Authorization']}\r\n\r\n".encode())
        assert b"200" in page_stream.recv(200)
    finally:
        try:
            code = stop_within(proc, signal.SIGTERM)
        finally:
            log.close()
            if page_stream is not None:
                page_stream.close()
    assert code == 0, (tmp_path / "service.log").read_text()[-3000:]
    assert_nothing_left(children)
    leaked = [n for n in os.listdir("/dev/shm") if n.startswith(f"cw-{proc.pid}-")]
    assert not leaked, f"shared memory left behind: {leaked}"
