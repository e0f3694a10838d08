"""End to end: `custodywatch run` with a `central:` section forwards to a central PostgreSQL."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml
from pg_scratch import ScratchDatabases
from service_process import add_user, login, stop_within, wait_ready
from sqlalchemy import text

from custodywatch.store.db import make_engine, migrate

CONFIG = {
    "site": {"id": "e2e-site", "box_id": "box3"},
    "rooms": [{"id": "interrogation-1", "type": "interrogation"}],
    "cameras": [{
        "id": "cam-x", "room": "interrogation-1", "detect_url": "rtsp://127.0.0.1:1/none",
        "zones": {"detainee_seat": [[0.62, 0.7], [0.99, 0.7], [0.99, 1.0], [0.62, 1.0]],
                  "officer_area": [[0.0, 0.7], [0.58, 0.7], [0.58, 1.0], [0.0, 1.0]]}}],
}


def rows(central_url: str, query: str) -> list[tuple[object, ...]]:
    engine = make_engine(central_url)
    try:
        with engine.connect() as db:
            return [tuple(r) for r in db.execute(text(query))]
    finally:
        engine.dispose()


def wait_rows(central_url: str, query: str, timeout_s: float = 30) -> list[tuple[object, ...]]:
    deadline = time.monotonic() + timeout_s
    while not (found := rows(central_url, query)):
        assert time.monotonic() < deadline, f"nothing for {query!r} within {timeout_s} s"
        time.sleep(0.3)
    return found


def test_the_service_forwards_custody_and_camera_health_and_reports_the_link(
        pg_databases: ScratchDatabases, tmp_path: Path) -> None:
    central_url = pg_databases.url()
    engine = make_engine(central_url)
    migrate(engine)
    engine.dispose()
    config = tmp_path / "cameras.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "central": {"database_url": central_url, "interval_s": 0.2}}))
    env = dict(os.environ, CUSTODYWATCH_DATA=str(tmp_path / "data"))
    add_user(env)
    log = (tmp_path / "service.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "custodywatch.cli", "run", "--config", str(config),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    try:
        base = wait_ready(proc)
        headers = login(base)
        checked_in = httpx.post(base + "api/custody", headers=headers, timeout=10, json={
            "person": "p-17", "room": "interrogation-1", "legal_basis": "summons"})
        assert checked_in.status_code == 201, checked_in.text
        custody = wait_rows(central_url, "SELECT site_id, box_id, person, room FROM central_custody")
        assert custody == [("e2e-site", "box3", "p-17", "interrogation-1")]
        health = wait_rows(central_url, "SELECT box_id, camera, connected FROM central_camera_health")
        assert health == [("box3", "cam-x", False)]
        deadline = time.monotonic() + 15
        while (report := httpx.get(base + "healthz", timeout=10).json())["forwarding"]["pending"]:
            assert time.monotonic() < deadline, report
            time.sleep(0.3)
        assert report["processes"]["forwarder"] is True and report["forwarding"]["connected"] is True
        assert "custodywatch_forward_pending_rows 0.0" in httpx.get(base + "metrics", timeout=10).text
    finally:
        try:
            code = stop_within(proc, signal.SIGTERM)
        finally:
            log.close()
    assert code == 0, (tmp_path / "service.log").read_text()[-3000:]
