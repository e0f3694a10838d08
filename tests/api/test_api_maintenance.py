"""Maintenance windows from the page's API and the box's shell: started, listed, ended, audited."""
from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest
from api_accounts import TokenFor
from conftest import Serve
from sqlalchemy import Engine

from custodywatch.cli import main
from custodywatch.config import parse_config
from custodywatch.store.accounts import AuditLog, Role

CONFIG = """
rooms:
  - {id: holding-1, type: holding}
cameras:
  - id: cam-h1
    room: holding-1
    detect_url: "rtsp://10.0.0.12/sub"
    zones: {detainee_area: [[0.6, 0.7], [1, 0.7], [1, 1]], guard_post: [[0, 0.7], [0.5, 0.7], [0, 1]]}
  - id: cam-h2
    room: holding-1
    detect_url: "rtsp://10.0.0.13/sub"
"""


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


@pytest.fixture
def clients(serve: Serve, token_for: TokenFor) -> tuple[httpx.Client, httpx.Client]:
    server = serve(config=parse_config(CONFIG, "cameras.yaml"))
    investigator = httpx.Client(base_url=server.url, timeout=5,
                                headers=token_for("inv-wang", Role.INVESTIGATOR))
    desk = httpx.Client(base_url=server.url, timeout=5, headers=token_for("desk", Role.WATCH_DESK))
    return investigator, desk


def test_an_investigator_opens_and_ends_a_window_the_desk_sees_and_the_audit_log_keeps(
    clients: tuple[httpx.Client, httpx.Client], engine: Engine
) -> None:
    investigator, desk = clients
    until = time.time() + 3600
    started = investigator.post("/api/maintenance", json={"camera": "cam-h1", "until": iso(until),
                                                          "reason": "replacing the lens"})
    assert started.status_code == 201, started.text
    window = started.json()
    assert (window["camera"], window["started_by"], window["open"]) == ("cam-h1", "inv-wang", True)
    assert desk.get("/api/maintenance").json() == [window]
    assert desk.post(f"/api/maintenance/{window['id']}/end").status_code == 403

    again = investigator.post("/api/maintenance",
                              json={"camera": "cam-h1", "until": iso(until), "reason": "x"})
    assert again.status_code == 409 and "open already" in again.json()["detail"]

    ended = investigator.post(f"/api/maintenance/{window['id']}/end")
    assert ended.status_code == 200, ended.text
    assert ended.json()["open"] is False and ended.json()["ended_by"] == "inv-wang"
    assert investigator.post(f"/api/maintenance/{window['id']}/end").status_code == 409
    assert investigator.post("/api/maintenance/999/end").status_code == 404

    entries, _ = AuditLog(engine).entries()
    assert [(e.action, e.actor, e.target, e.detail["window"]) for e in reversed(entries)] == [
        ("maintenance_start", "inv-wang", "cam-h1", window["id"]),
        ("maintenance_end", "inv-wang", "cam-h1", window["id"])]
    assert AuditLog(engine).verify() is None


# `until` as seconds from the moment the test runs (a time fixed at collection can be past by then).
@pytest.mark.parametrize(("body", "names"), [
    ({"camera": "cam-x", "until": "+1h", "reason": "r"}, "until"),
    ({"camera": "cam-x", "until": 3600, "reason": "r"}, "unknown camera 'cam-x'"),
    ({"camera": "cam-h1", "until": -60, "reason": "r"}, "until: the window must end after"),
    ({"camera": "cam-h1", "until": 3600, "reason": "   "}, "reason"),
])
def test_a_bad_window_is_422_naming_what_is_wrong(clients: tuple[httpx.Client, httpx.Client],
                                                 body: dict[str, str | int], names: str) -> None:
    investigator, _ = clients
    until = body["until"]
    sent = {**body, "until": iso(time.time() + until) if isinstance(until, int) else until}
    response = investigator.post("/api/maintenance", json=sent)
    assert response.status_code == 422
    assert names in response.text


def cli(capsys: pytest.CaptureFixture[str], db_url: str, *args: str) -> tuple[int, str, str]:
    code = main(["maintenance", *args, "--database-url", db_url])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_starts_lists_and_ends_a_window_and_audits_it(
    capsys: pytest.CaptureFixture[str], db_url: str, engine: Engine, tmp_path
) -> None:
    config = tmp_path / "cameras.yaml"
    config.write_text(CONFIG)
    code, out, err = cli(capsys, db_url, "start", "--camera", "cam-h2", "--until", "+2h",
                         "--reason", "cable repair", "--by", "tech-zhao", "--config", str(config))
    assert code == 0, err
    window_id = int(out.split("\t")[0])
    listed = cli(capsys, db_url, "list")[1]
    assert "cam-h2" in listed and "cable repair" in listed and "ended" not in listed

    assert cli(capsys, db_url, "end", str(window_id), "--by", "tech-zhao")[0] == 0
    assert "ended" in cli(capsys, db_url, "list", "--camera", "cam-h2")[1]
    entries, _ = AuditLog(engine).entries(actor="tech-zhao")
    assert sorted(e.action for e in entries) == ["maintenance_end", "maintenance_start"]

    code, _, err = cli(capsys, db_url, "end", str(window_id))
    assert code == 2 and "has ended already" in err
    code, _, err = cli(capsys, db_url, "start", "--camera", "cam-9", "--until", "+1h", "--reason", "r",
                       "--config", str(config))
    assert code == 2 and "--camera: unknown camera 'cam-9'" in err
    code, _, err = cli(capsys, db_url, "start", "--camera", "cam-h2", "--until", "tomorrow", "--reason", "r")
    assert code == 2 and "--until: 'tomorrow'" in err
