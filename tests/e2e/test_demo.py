"""`custodywatch demo`: the embedded default shows a single_officer alert within two minutes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from service_process import assert_nothing_left, descendants, login, stop_within, wait_for_alert, wait_ready

DEMO_ALERT_WITHIN_S = 120


def test_demo_shows_a_single_officer_alert_within_two_minutes(tmp_path: Path) -> None:
    env = dict(os.environ, CUSTODYWATCH_DATA=str(tmp_path / "data"))
    env.pop("CUSTODYWATCH_MODEL_DIR", None)  # the demo finds the test material's models by itself
    log = (tmp_path / "demo.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "custodywatch.cli", "demo", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    try:
        printed: list[str] = []
        base = wait_ready(proc, printed)
        ready_at = time.monotonic()
        children = descendants(proc.pid)
        # The demo makes the first admin and prints its password: that is how its user logs in.
        password = next(line.rsplit(" ", 1)[1].strip() for line in printed if line.startswith("demo login: "))
        headers = login(base, "admin", password)
        alert = wait_for_alert(base, "single_officer", tmp_path / "demo.log", DEMO_ALERT_WITHIN_S,
                               headers=headers)
        assert time.monotonic() - ready_at <= DEMO_ALERT_WITHIN_S
        assert alert["room"] == "interrogation-1"
        assert "<html" in httpx.get(base, timeout=10).text.lower()
        db = tmp_path / "data" / "custodywatch.db"
        assert db.is_file(), "the demo stores alerts in SQLite under the data dir"
    finally:
        try:
            code = stop_within(proc, signal.SIGINT)  # Ctrl-C
        finally:
            log.close()
    assert code == 0, (tmp_path / "demo.log").read_text()[-3000:]
    assert_nothing_left(children)  # the RTSP server included
