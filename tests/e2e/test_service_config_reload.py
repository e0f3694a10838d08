"""End to end: the config changed while `custodywatch run` runs. Zones saved in the zone editor are
used by analytics at once while the camera's recording goes on untouched; a camera URL changed in
the file and applied with SIGHUP (`systemctl reload`) restarts that camera's recording, leaving a
gap with cause `config_change`."""
from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from service_process import add_user, login, start_service, stop_within, wait_ready, wait_until

from custodywatch.recorder.index import ArchiveIndex, GapRecord, SegmentRecord
from custodywatch.rtsp_server import RtspLoopServer, default_python

ROOM, CAMERA, OTHER_CAMERA = "interrogation-1", "cam-i1", "cam-c1"
# Far from where anyone sits or stands in the scene.
EMPTY_CORNER = [[0.0, 0.0], [0.08, 0.0], [0.08, 0.08], [0.0, 0.08]]


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


@pytest.fixture
def served(scene, tmp_path: Path):
    if not default_python().is_file():
        pytest.skip("the RTSP server's venv is missing: run scripts/setup.sh")
    s = scene("interrogation_both_stay")  # a detainee seated and two officers, all the time
    cfg = yaml.safe_load(s.config.read_text())
    # The same room from another path of the server: the camera's new address after the change.
    with RtspLoopServer({"main": s.video, "moved": s.video}) as server:
        cfg["cameras"][0].update(detect_url=server.url("main"), fps=2)
        # A second camera that nothing changes for: its recording must go on through both reloads.
        cfg["rooms"].append({"id": "corridor-1", "type": "corridor"})
        cfg["cameras"].append({"id": OTHER_CAMERA, "room": "corridor-1", "detect_url": server.url("main"),
                               "fps": 1})
        cfg["recorder"] = {"segment_s": 2}
        path = tmp_path / "etc" / "cameras.yaml"
        path.parent.mkdir()
        path.write_text("# written by the installer\n" + yaml.safe_dump(cfg, sort_keys=False))
        yield path, server.url("moved")


def test_zones_apply_without_a_restart_and_a_new_camera_url_leaves_a_config_change_gap(served, tmp_path):
    config, moved_url = served
    data = tmp_path / "data"
    env = dict(os.environ, CUSTODYWATCH_DATA=str(data))
    add_user(env, "e2e-admin", "e2e admin password", role="admin")
    log_path = tmp_path / "service.log"
    log = log_path.open("w")
    proc = start_service(config, env, log)
    try:
        base = wait_ready(proc)
        headers = login(base, "e2e-admin", "e2e admin password")
        started = time.time()

        def counts_since(since: float) -> list[dict[str, Any]]:
            response = httpx.get(f"{base}api/rooms/{ROOM}/counts", timeout=10, headers=headers,
                                 params={"since": _iso(since), "until": _iso(time.time() + 1)})
            return list(response.json())

        wait_until("the seated detainee counted",
                   lambda: any(c["detainees"] == 1 for c in counts_since(started)), 90, log_path,
                   poll_s=1)

        # The detainee seat moved (in the zone editor) to a corner where nobody is.
        zones = httpx.get(f"{base}api/zones/{CAMERA}", timeout=10, headers=headers).json()["zones"]
        saved = httpx.put(f"{base}api/zones/{CAMERA}", timeout=30, headers=headers,
                          json={"zones": {**zones, "detainee_seat": EMPTY_CORNER}})
        assert saved.status_code == 200, saved.text
        assert saved.json()["reload"]["ok"] is True
        # Zones are applied by analytics itself: no process restarted for them.
        assert saved.json()["reload"]["changed"] == []
        zones_saved_at = time.time()
        wait_until("the detainee no longer counted under the new zone",
                   lambda: counts_since(zones_saved_at)[-1]["detainees"] == 0 if counts_since(zones_saved_at)
                   else False, 45, log_path, poll_s=1)
        index = ArchiveIndex(data / "archive")
        after_zones = [r for r in index.records() if isinstance(r, SegmentRecord | GapRecord)
                       and r.camera == CAMERA and r.end > zones_saved_at]
        assert any(isinstance(r, SegmentRecord) for r in after_zones), "recording went on"
        assert not [r for r in after_zones if isinstance(r, GapRecord)], "no gap for the zone change"

        # The camera moved to another address: the file edited by hand, then `systemctl reload`.
        text = config.read_text()
        main_url = text.split("detect_url: ", 1)[1].split("\n", 1)[0]
        config.write_text(text.replace(main_url, moved_url, 1))  # the first camera's only
        reloaded_at = time.time()
        proc.send_signal(signal.SIGHUP)

        def config_change_gap() -> list[GapRecord]:
            return [r for r in index.records() if isinstance(r, GapRecord) and r.camera == CAMERA
                    and r.cause == "config_change"]

        gaps, _ = wait_until("a config_change gap", config_change_gap, 45, log_path, poll_s=1)
        assert len(gaps) == 1 and gaps[0].start >= zones_saved_at and gaps[0].end >= reloaded_at
        wait_until("the other camera's next segment", lambda: any(
            isinstance(r, SegmentRecord) and r.camera == OTHER_CAMERA and r.start > gaps[0].end
            for r in index.records()), 20, log_path, poll_s=1)
        other_gaps = [r for r in index.records() if isinstance(r, GapRecord) and r.camera == OTHER_CAMERA
                      and r.end > started]
        assert other_gaps == [], "the camera whose recording did not change records on"
        health = httpx.get(f"{base}healthz", timeout=10).json()
        assert health["config"]["ok"] is True and health["config"]["trigger"] == "SIGHUP"
        assert health["config"]["changed"] == ["reader-0"], health["config"]
        assert proc.poll() is None, "the service runs on"
    finally:
        try:
            code = stop_within(proc, signal.SIGTERM)
        finally:
            log.close()
    assert code == 0, log_path.read_text()[-3000:]
