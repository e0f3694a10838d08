"""An investigator re-analyses stored footage from the page's API: the job finds the alerts that
`analyze` finds in the original file (the scene's ground truth), and starting it is audited."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from api_accounts import TokenFor
from conftest import Serve
from sqlalchemy import Engine

from custodywatch.config import load_config
from custodywatch.recorder.camera import CameraRecorder
from custodywatch.recorder.index import ArchiveIndex
from custodywatch.store.accounts import AuditLog, Role

T0 = 1_800_000_000.0


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def test_a_reanalysis_job_finds_the_scenes_alerts_in_the_archive(
        scene, serve: Serve, token_for: TokenFor, engine: Engine, tmp_path: Path) -> None:
    s = scene("holding_feed_lost")  # its camera sends nothing for 30 s: a gap in the archive
    config = load_config(s.config)
    camera = config.cameras[0].id
    archive = tmp_path / "data" / "archive"
    CameraRecorder(camera, str(s.video), ArchiveIndex(archive), segment_s=10, wall=lambda: T0).run(once=True)
    server = serve(config=config, data_dir=tmp_path / "data")
    with httpx.Client(base_url=server.url, timeout=5, headers=token_for("inv", Role.INVESTIGATOR)) as client:
        nothing = client.post("/api/reanalysis", json={"camera": camera, "start": iso(T0 - 7200),
                                                       "end": iso(T0 - 3600)})
        assert nothing.status_code == 422 and "holds nothing" in nothing.json()["detail"]
        started = client.post("/api/reanalysis", json={"camera": camera, "start": iso(T0 - 60),
                                                       "end": iso(T0 + 3600)})
        assert started.status_code == 202, started.text
        job = started.json()
        deadline = time.monotonic() + 120
        while job["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.5)
            job = client.get(f"/api/reanalysis/{job['id']}").json()
        assert [j["id"] for j in client.get("/api/reanalysis").json()] == [job["id"]]
    assert job["state"] == "done", job
    assert job["origin"] == iso(T0).replace("+00:00", "Z")
    truth = [json.loads(line) for line in s.truth.read_text().splitlines() if line.strip()]
    fps = config.cameras[0].fps
    assert [(a["rule"], a["severity"]) for a in job["alerts"]] == [(t["rule"], t["severity"]) for t in truth]
    for got, want in zip(job["alerts"], truth, strict=True):
        assert abs(got["start_s"] - want["start_s"]) <= 1 / fps + 1e-6
        assert abs(got["end_s"] - want["end_s"]) <= 1 / fps + 1e-6
    entries, _ = AuditLog(engine).entries(action="reanalysis_start")
    assert [(e.actor, e.target, e.detail["camera"]) for e in entries] == [("inv", job["id"], camera)]
