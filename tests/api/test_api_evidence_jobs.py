"""Holds by custody record and by alert, export jobs that outlive a restart of the API, the box's
signing-key fingerprint, and escalations waiting for a user who logs in later."""
from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from api_accounts import TokenFor
from conftest import Serve
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from custodywatch.api.escalation import Escalator
from custodywatch.api.events import EventHub
from custodywatch.api.exports import INTERRUPTED
from custodywatch.config import parse_config
from custodywatch.recorder.catalog import RecorderCatalog
from custodywatch.recorder.index import ArchiveIndex, SegmentRecord
from custodywatch.recorder.signing import fingerprint, load_or_create_key
from custodywatch.rules.events import AlertEvent
from custodywatch.store.accounts import AuditLog, Role
from custodywatch.store.alerts import AlertStore
from custodywatch.store.models import ExportJobRow
from custodywatch.vocabulary import RuleId, Severity

CONFIG = """
recorder: {pre_roll_s: 5, post_roll_s: 7}
rooms: [{id: interrogation-1, type: interrogation}, {id: corridor-1, type: corridor}]
cameras:
  - id: cam-a
    room: interrogation-1
    detect_url: rtsp://127.0.0.1/a
    zones: {detainee_seat: [[0.6, 0.7], [1, 0.7], [1, 1]], officer_area: [[0, 0.7], [0.5, 0.7], [0, 1]]}
  - {id: cam-b, room: interrogation-1, detect_url: rtsp://127.0.0.1/b}
  - {id: cam-c, room: corridor-1, detect_url: rtsp://127.0.0.1/c}
"""


def wait_done(client: httpx.Client, job: dict[str, object]) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while job["state"] == "running":
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
        job = client.get(f"/api/exports/{job['id']}").json()
    return job


def test_holds_by_custody_record_and_by_alert_take_the_rooms_cameras_and_range(
    serve: Serve, token_for: TokenFor, store: AlertStore, engine: Engine, tmp_path: Path
) -> None:
    server = serve(config=parse_config(CONFIG, "cameras.yaml"), data_dir=tmp_path)
    desk = httpx.Client(base_url=server.url, timeout=5, headers=token_for("desk", Role.WATCH_DESK))
    inv = httpx.Client(base_url=server.url, timeout=5, headers=token_for("inv", Role.INVESTIGATOR))
    with desk, inv:
        check_in = time.time() - 3600
        assert desk.post("/api/custody", json={"person": "case-9 Wang", "room": "interrogation-1",
                                               "legal_basis": "questioning", "check_in": check_in}
                         ).status_code == 201
        held = inv.post("/api/holds", json={"custody_id": "case-9 Wang", "reason": "complaint 2024-3"})
        assert held.status_code == 201, held.text
        hold = held.json()
        assert hold["cameras"] == ["cam-a", "cam-b"] and hold["custody_id"] == "1"
        assert datetime.fromisoformat(hold["start"]).timestamp() == pytest.approx(check_in, abs=0.01)
        # The record is still open: held up to now.
        assert RecorderCatalog(engine).holds()[0].end == pytest.approx(time.time(), abs=5)

        unknown = inv.post("/api/holds", json={"custody_id": "nobody", "reason": "x"})
        assert unknown.status_code == 404 and "nobody" in unknown.json()["detail"]
        mixed = inv.post("/api/holds", json={"custody_id": "1", "cameras": ["cam-c"], "reason": "x"})
        assert mixed.status_code == 422 and "custody_id" in mixed.json()["detail"]
        assert "start, end" in inv.post("/api/holds", json={"reason": "x"}).json()["detail"]

        store.apply(AlertEvent("fired", "a-hold", RuleId.SINGLE_OFFICER, "interrogation-1", "cam-a",
                               Severity.ALARM, 1000.0, 1060.0))
        store.apply(AlertEvent("ended", "a-hold", RuleId.SINGLE_OFFICER, "interrogation-1", "cam-a",
                               Severity.ALARM, 1000.0, 1100.0))
        by_alert = inv.post("/api/holds", json={"alert_id": "a-hold", "reason": "internal review"}).json()
        assert by_alert["cameras"] == ["cam-a", "cam-b"] and by_alert["alert_id"] == "a-hold"
        view = next(h for h in RecorderCatalog(engine).holds() if h.alert_id == "a-hold")
        assert (view.start, view.end) == (995.0, 1107.0)  # pre_roll 5 s, post_roll 7 s
        assert inv.post("/api/holds", json={"alert_id": "nope", "reason": "x"}).status_code == 404

    created = [e for e in AuditLog(engine).entries(action="hold_create")[0]]
    assert {e.detail.get("custody_id") for e in created} == {"1", None}
    assert all(e.actor == "inv" for e in created)


def test_a_finished_export_downloads_after_a_restart_and_an_interrupted_one_says_why(
    serve: Serve, recorded: Path, token_for: TokenFor, engine: Engine
) -> None:
    records = ArchiveIndex(recorded / "archive").records()
    segments = sorted((r for r in records if isinstance(r, SegmentRecord)), key=lambda s: s.start)
    before = serve(data_dir=recorded)
    headers = token_for("inv", Role.INVESTIGATOR)
    with httpx.Client(base_url=before.url, timeout=30, headers=headers) as inv:
        job = wait_done(inv, inv.post("/api/exports", json={
            "cameras": ["cam-a"], "start": segments[0].start, "end": segments[0].end,
            "reason": "case 7"}).json())
        assert job["state"] == "ready", job
        first_zip = inv.get(job["download"]).content
    # A job whose process died while it ran: its row says running, and nothing works on it.
    with sessionmaker(engine).begin() as session:
        session.add(ExportJobRow(id="f" * 32, cameras="cam-a", start=1.0, end=2.0, requested_by="inv",
                                 reason="case 8", alert_id=None, state="running", error=None, segments=None,
                                 bytes=None, zip_path=None, created_at=time.time(), finished_at=None))

    after = serve(data_dir=recorded)  # a new app on the same database: the API restarted
    with httpx.Client(base_url=after.url, timeout=30, headers=headers) as inv:
        again = inv.get(f"/api/exports/{job['id']}").json()
        assert (again["state"], again["download"]) == ("ready", job["download"])
        assert inv.get(job["download"]).content == first_zip
        interrupted = inv.get(f"/api/exports/{'f' * 32}").json()
        assert (interrupted["state"], interrupted["error"]) == ("failed", INTERRUPTED)
        refused = inv.get(f"/api/exports/{'f' * 32}/download")
        assert refused.status_code == 409 and "interrupted" in refused.json()["detail"]
        assert [j["id"] for j in inv.get("/api/exports").json()][-2:] == [job["id"], "f" * 32]


def test_the_box_shows_its_signing_key_fingerprint(
    serve: Serve, token_for: TokenFor, tmp_path: Path
) -> None:
    server = serve(config=parse_config(CONFIG, "cameras.yaml"), data_dir=tmp_path)
    headers = token_for("inv", Role.INVESTIGATOR)
    before = httpx.get(f"{server.url}/api/box", headers=headers, timeout=5).json()
    assert (before["box_id"], before["key_fingerprint"]) == ("box1", None)  # the recorder has not run
    key = load_or_create_key(tmp_path / "keys")  # what the recorder does at install
    info = httpx.get(f"{server.url}/api/box", headers=headers, timeout=5).json()
    assert info["key_fingerprint"] == fingerprint(key.public_key())
    assert info["key_fingerprint"].startswith("SHA256:")
    assert "BEGIN PUBLIC KEY" in info["public_key_pem"] and "PRIVATE" not in info["public_key_pem"]


def test_a_user_escalated_to_finds_the_escalation_on_logging_in_later(
    serve: Serve, token_for: TokenFor, store: AlertStore, hub: EventHub
) -> None:
    now = time.time()
    store.apply(AlertEvent("fired", "a-old", RuleId.UNATTENDED_DETAINEE, "interrogation-1", "cam-a",
                           Severity.ALARM, now - 700, now - 650))  # unacknowledged for 650 s
    store.apply(AlertEvent("fired", "a-new", RuleId.UNATTENDED_DETAINEE, "interrogation-2", "cam-b",
                           Severity.ALARM, now - 70, now - 20))
    store.apply(AlertEvent("fired", "a-seen", RuleId.SINGLE_OFFICER, "interrogation-3", "cam-c",
                           Severity.ALARM, now - 900, now - 800))
    store.acknowledge("a-seen", "desk")
    # The escalator's announcement went out before the duty officer had a page open.
    server = serve(escalator=Escalator(store, hub, 300, ["duty-zhao"]))
    duty = token_for("duty-zhao", Role.WATCH_DESK)
    mine = httpx.get(f"{server.url}/api/escalations", params={"mine": "true"}, headers=duty, timeout=5).json()
    assert [(e["alert"]["id"], e["count"]) for e in mine] == [("a-old", 2)]
    assert mine[0]["unacknowledged_s"] == pytest.approx(650, abs=5)
    other = token_for("desk-2", Role.WATCH_DESK)
    assert httpx.get(f"{server.url}/api/escalations", params={"mine": "true"}, headers=other,
                     timeout=5).json() == []
    assert [e["alert"]["id"] for e in httpx.get(f"{server.url}/api/escalations", headers=other,
                                                  timeout=5).json()] == ["a-old"]
