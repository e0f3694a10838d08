"""The box's own health on /metrics, in /healthz and as a health event of the live feed."""
from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer, SseReader
from sqlalchemy import Engine

from custodywatch.api import events as events_module
from custodywatch.api.app import create_app
from custodywatch.api.events import EventHub
from custodywatch.box_health import ClockStatus
from custodywatch.box_monitor import BoxHealthMonitor
from custodywatch.box_sampler import BoxSampler
from custodywatch.config import HealthConfig
from custodywatch.store.alerts import AlertStore


def metric(text: str, name: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith((name + " ", name + "{")))
    return float(line.rsplit(" ", 1)[1])


def test_metrics_and_healthz_carry_the_box_figures_and_a_raised_check(
        tmp_path: Path, engine: Engine, store: AlertStore, hub: EventHub) -> None:
    # A limit of 100% free disk cannot be met: the disk check is past it from the first sample; a CPU
    # limit of 100% cannot be passed, however busy the machine running the test.
    cfg = HealthConfig(min_disk_free_gb=1e9, max_cpu_percent=100, breach_after_s=0)
    sampler = BoxSampler(tmp_path / "archive", clock=lambda: ClockStatus(),
                         camera_drift=lambda: {"cam-1": 0.4, "cam-2": None})
    monitor = BoxHealthMonitor(sampler, cfg)
    monitor.sample_once(time.time())
    app = create_app(store, hub, engine=engine, box_health=monitor.report)
    with LiveServer(app, hub) as server:
        text = httpx.get(f"{server.url}/metrics", timeout=5).text
        health = httpx.get(f"{server.url}/healthz", timeout=5)
    report = monitor.report()
    assert report is not None
    assert metric(text, "custodywatch_box_disk_free_bytes") == report.disk_free_bytes > 0
    assert metric(text, "custodywatch_box_disk_total_bytes") >= report.disk_free_bytes
    assert 0 < metric(text, "custodywatch_box_memory_percent") <= 100
    assert 0 <= metric(text, "custodywatch_box_cpu_percent") <= 100
    assert 'custodywatch_box_camera_clock_drift_seconds{camera="cam-1"} 0.4' in text
    assert 'camera="cam-2"' not in text  # unknown is left out, never reported as 0
    assert "\ncustodywatch_box_clock_offset_seconds " not in text  # no time source here: no sample
    assert 'custodywatch_box_health_check_raised{check="disk_free",severity="alarm"} 1.0' in text
    assert 'custodywatch_box_health_check_raised{check="cpu",severity="warning"} 0.0' in text

    # The box being short of disk does not make the processes unhealthy, but it is an alarm.
    assert health.status_code == 200
    body = health.json()
    assert body["severity"] == "alarm" and body["box"]["severity"] == "alarm"
    disk = next(c for c in body["box"]["checks"] if c["check"] == "disk_free")
    assert disk["raised"] is True and disk["over"] is True
    assert body["box"]["clock_source"] is None and body["box"]["clock_offset_s"] is None


def test_a_raised_box_check_is_pushed_to_the_watch_desk_and_its_clearing_too(
        tmp_path: Path, engine: Engine, store: AlertStore, hub: EventHub, auth_headers: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_module, "HEALTH_POLL_S", 0.05)
    clock = {"status": ClockStatus("chrony", 0.01, True)}
    monitor = BoxHealthMonitor(BoxSampler(tmp_path, clock=lambda: clock["status"]),
                               HealthConfig(min_disk_free_gb=0, min_days_left=0, max_cpu_percent=100,
                                            max_memory_percent=100, breach_after_s=0))
    monitor.sample_once()
    app = create_app(store, hub, engine=engine, box_health=monitor.report)
    with LiveServer(app, hub) as server, \
            httpx.Client(base_url=server.url, timeout=5, headers=auth_headers) as client, \
            client.stream("GET", "/api/events") as response:
        stream = SseReader(response)
        assert stream.next().event == "reset"
        time.sleep(0.2)  # the feed has seen the box fine
        clock["status"] = ClockStatus("chrony", 4.2, True)  # the box's clock is 4.2 s off
        monitor.sample_once()
        raised = stream.next()
        clock["status"] = ClockStatus("chrony", 0.02, True)
        monitor.sample_once()
        cleared = stream.next()
    assert raised.event == "health" and json.loads(raised.data)["severity"] == "warning"
    offset = next(c for c in json.loads(raised.data)["box"]["checks"] if c["check"] == "clock_offset")
    assert offset["raised"] is True and offset["value"] == 4.2
    assert cleared.event == "health" and json.loads(cleared.data)["severity"] == "ok"
