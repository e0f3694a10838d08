"""Fault 6: the archive's disk quota reached in the running service. Footage under a legal hold is
kept even though the quota then cannot be met, the watch desk's live feed raises the alarm, and the
service stays alive and recording (unprotected footage is deleted to make room).

Real parts: the RTSP test server, `custodywatch run` with a tiny quota, `custodywatch hold create`
at the shell, the page's event stream over HTTP, the archive's own index on disk. The recorder's
retention policy itself is unit-tested in tests/recorder/test_recorder_retention.py; this is the
service around it."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml
from faults_feed import FeedClient
from faults_service import ServiceProcess, free_port, write_camera
from service_process import add_user

from custodywatch.recorder.catalog import RecorderCatalog
from custodywatch.recorder.index import INDEX_NAME, DeletionRecord, GapRecord, SegmentRecord, parse_record
from custodywatch.rtsp_server import RtspLoopServer
from custodywatch.store.db import make_engine

pytestmark = pytest.mark.slow

USER, PASSWORD = "desk", "fault six watch desk password"
SEGMENT_S = 2
QUOTA_GB = 0.0002  # 215 kB: about 6 s of the test camera (~26 kB/s)
HOLD_S = 16.0


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def index(archive: Path) -> list[SegmentRecord | DeletionRecord | GapRecord]:
    path = archive / INDEX_NAME
    if not path.exists():
        return []
    return [parse_record(line) for line in path.read_text().splitlines()]


def test_quota_reached_keeps_protected_footage_raises_the_alarm_and_keeps_recording(tmp_path: Path) -> None:
    video = write_camera(tmp_path / "cam.mp4", [("seen", 20)])
    data = tmp_path / "data"
    archive = data / "archive"
    env = dict(os.environ, CUSTODYWATCH_DATA=str(data))
    add_user(env, USER, PASSWORD)
    with RtspLoopServer({"cam-c1": video}) as rtsp:
        config = tmp_path / "cameras.yaml"
        config.write_text(yaml.safe_dump({
            "site": {"id": "test", "box_id": "box1"},
            "recorder": {"segment_s": SEGMENT_S, "quota_gb": QUOTA_GB, "retention_interval_s": 1},
            "rooms": [{"id": "corridor-1", "type": "corridor"}],
            "cameras": [{"id": "cam-c1", "room": "corridor-1", "detect_url": rtsp.url("cam-c1"), "fps": 2}],
        }))
        service = ServiceProcess(config, env, free_port(), tmp_path / "service.log")
        try:
            base = service.wait_ready()
            # An investigator's hold, at the shell, on what the next HOLD_S seconds record: more
            # than the quota holds.
            hold_from = time.time() + 2.0
            hold_to = hold_from + HOLD_S
            subprocess.run([sys.executable, "-m", "custodywatch.cli", "hold", "create", "--camera", "cam-c1",
                            "--from", iso(hold_from), "--to", iso(hold_to), "--reason", "case 2026-7",
                            "--by", "inspector-li", "--config", str(config)],
                           env=env, check=True, capture_output=True, timeout=60)
            login = httpx.post(f"{base}/api/auth/login", json={"username": USER, "password": PASSWORD},
                               timeout=10)
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            with FeedClient(base, headers) as feed:
                feed.wait_for("the recorder's quota alarm on the feed",
                              lambda: any(e.event == "recorder_alarm" for e in feed.events), HOLD_S + 60)
                alarm = next(e for e in feed.events if e.event == "recorder_alarm")
            # Recording goes on past the alarm and the hold; what it records after the hold is
            # unprotected, so the quota makes room by deleting it, oldest first.
            deadline = time.monotonic() + HOLD_S + 40

            def recorded_and_deleted_after_the_hold() -> bool:
                records = index(archive)
                return (any(isinstance(r, SegmentRecord) and r.start > hold_to for r in records)
                        and any(isinstance(r, DeletionRecord) and r.start >= hold_to for r in records))

            while not recorded_and_deleted_after_the_hold():
                assert time.monotonic() < deadline, "no recording after the hold:\n" + service.tail()
                time.sleep(1)
            health = httpx.get(f"{base}/healthz", timeout=10)
            records = index(archive)
            engine = make_engine(f"sqlite:///{data / 'custodywatch.db'}")
            audited = [a for a in RecorderCatalog(engine).audit_log() if a[2] == "quota_alarm"]
            engine.dispose()
        finally:
            service.stop()
    assert service.proc.returncode == 0, service.tail()
    assert health.status_code == 200, health.text
    assert "cannot be met" in alarm.data["message"]
    assert audited and "cannot be met" in audited[0][5]
    # Retention ran every second meanwhile: the alarm is announced once, then only as an hourly reminder.
    assert len(audited) == 1, audited
    segments = [r for r in records if isinstance(r, SegmentRecord)]
    assert [r for r in records if isinstance(r, GapRecord)] == [], "recording was interrupted"
    deleted = {r.path for r in records if isinstance(r, DeletionRecord)}
    held = [s for s in segments if s.start < hold_to and s.end > hold_from]
    assert len(held) >= 3, segments
    # Every held segment is still there, whole.
    for s in held:
        assert s.path not in deleted
        assert (archive / s.path).stat().st_size == s.size
    # The quota was enforced on the rest: unprotected segments were deleted to make room.
    unheld = [s for s in segments if s not in held]
    assert deleted and deleted <= {s.path for s in unheld}
    assert all(not (archive / p).exists() for p in deleted)
    held_bytes = sum(s.size for s in held)
    quota_mb = QUOTA_GB * 2**30 / 1e6
    print(f"quota {quota_mb:.2f} MB; held {len(held)} segments ({held_bytes / 1e6:.2f} MB) kept; "
          f"{len(deleted)} unprotected segments deleted; no gap; alarm on the feed "
          f"{alarm.received - hold_from:.1f} s after the hold began, {len(segments)} segments recorded")
