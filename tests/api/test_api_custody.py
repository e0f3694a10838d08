"""The custody board: check-in with a legal basis, release, list; the rules read what is written."""
from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest
from api_accounts import TokenFor
from conftest import Serve
from sqlalchemy import Engine

from custodywatch.config import parse_config
from custodywatch.rules.custody import CustodyRecord
from custodywatch.store.accounts import Role
from custodywatch.store.rules_state import RulesStateStore

CONFIG = """
site: {id: zh-center, box_id: box1}
rooms:
  - {id: interrogation-1, type: interrogation}
  - {id: holding-1, type: holding}
cameras:
  - id: cam-i1
    room: interrogation-1
    detect_url: "rtsp://admin:secret@10.0.0.11/sub"
    zones: {detainee_seat: [[0.6, 0.7], [1, 0.7], [1, 1]], officer_area: [[0, 0.7], [0.5, 0.7], [0, 1]]}
  - id: cam-h1
    room: holding-1
    detect_url: "rtsp://10.0.0.12/sub"
    zones: {detainee_area: [[0.6, 0.7], [1, 0.7], [1, 1]], guard_post: [[0, 0.7], [0.5, 0.7], [0, 1]]}
"""


@pytest.fixture
def desk(serve: Serve, token_for: TokenFor) -> httpx.Client:
    server = serve(config=parse_config(CONFIG, "cameras.yaml"))
    return httpx.Client(base_url=server.url, timeout=5, headers=token_for("desk", Role.WATCH_DESK))


def test_a_check_in_is_what_the_analytics_process_reads_and_the_board_shows_its_deadline(
    desk: httpx.Client, engine: Engine
) -> None:
    two_hours_ago = time.time() - 7200
    response = desk.post("/api/custody", json={
        "person": "case-2024-17 Zhang", "room": "interrogation-1", "legal_basis": "questioning",
        "check_in": datetime.fromtimestamp(two_hours_ago, UTC).isoformat()})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["limit_s"] == 28800 and body["open"] is True
    assert body["deadline_epoch"] == pytest.approx(two_hours_ago + 28800)

    # Another process's view of the store, as the analytics process re-reads it.
    assert RulesStateStore(engine).custody_records(float("inf")) == [
        CustodyRecord("case-2024-17 Zhang", "interrogation-1", "questioning", False,
                      pytest.approx(two_hours_ago))
    ]
    board = desk.get("/api/custody").json()
    assert [r["person"] for r in board] == ["case-2024-17 Zhang"]


def test_release_closes_the_record_and_a_second_release_is_404(desk: httpx.Client, engine: Engine) -> None:
    assert desk.post("/api/custody", json={"person": "li", "room": "holding-1", "legal_basis": "summons",
                                           "extended": True}).status_code == 201
    released = desk.post("/api/custody/li/release", json={})
    assert released.status_code == 200
    assert released.json()["open"] is False and released.json()["limit_s"] == 86400
    assert RulesStateStore(engine).custody_records(float("inf")) == []
    assert desk.post("/api/custody/li/release").status_code == 404
    assert [r["open"] for r in desk.get("/api/custody").json()] == [False]  # recently released: shown
    assert desk.get("/api/custody", params={"open_only": "true"}).json() == []


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"person": "x", "room": "kitchen", "legal_basis": "summons"}, 422, "room"),
        ({"person": "x", "room": "holding-1", "legal_basis": "curiosity"}, 422, "legal_basis"),
        ({"person": "x", "room": "holding-1", "legal_basis": "extended"}, 422, "legal_basis"),
        ({"person": "x", "room": "holding-1", "legal_basis": "summons", "check_in": "2999-01-01T00:00:00Z"},
         422, "future"),
        ({"person": " ", "room": "holding-1", "legal_basis": "summons"}, 422, "person"),
    ],
)
def test_a_bad_check_in_is_refused_naming_what_is_wrong(
    desk: httpx.Client, body: dict[str, str], status: int, names: str
) -> None:
    response = desk.post("/api/custody", json=body)
    assert response.status_code == status
    assert names in response.text


def test_a_person_already_checked_in_cannot_be_checked_in_twice(desk: httpx.Client) -> None:
    body = {"person": "wang", "room": "holding-1", "legal_basis": "questioning"}
    assert desk.post("/api/custody", json=body).status_code == 201
    again = desk.post("/api/custody", json=body)
    assert again.status_code == 409
    assert "release" in again.json()["detail"]


def test_a_release_before_the_check_in_is_refused(desk: httpx.Client) -> None:
    desk.post("/api/custody", json={"person": "wang", "room": "holding-1", "legal_basis": "questioning"})
    response = desk.post("/api/custody/wang/release", json={"release": "2000-01-01T00:00:00Z"})
    assert response.status_code == 422


def test_cameras_list_every_configured_camera_with_its_health(desk: httpx.Client) -> None:
    cameras = desk.get("/api/cameras").json()
    assert [(c["id"], c["room"], c["health"]) for c in cameras] == [
        ("cam-i1", "interrogation-1", None), ("cam-h1", "holding-1", None)]


def test_the_config_view_is_admin_only_and_redacts_camera_credentials(
    serve: Serve, token_for: TokenFor
) -> None:
    server = serve(config=parse_config(CONFIG, "cameras.yaml"))
    admin = httpx.get(f"{server.url}/api/config", headers=token_for("boss", Role.ADMIN), timeout=5)
    assert admin.status_code == 200
    assert "secret" not in admin.text and "admin:" not in admin.text
    assert admin.json()["cameras"][0]["detect_url"] == "rtsp://***@10.0.0.11/sub"
    assert admin.json()["cameras"][1]["detect_url"] == "rtsp://10.0.0.12/sub"
    investigator = httpx.get(f"{server.url}/api/config", headers=token_for("inv", Role.INVESTIGATOR),
                             timeout=5)
    assert investigator.status_code == 403


def test_the_room_timeline_shows_who_was_there_when(desk: httpx.Client, engine: Engine) -> None:
    from custodywatch.rules.engine import RoomCounts
    from custodywatch.vocabulary import Role as Person

    RulesStateStore(engine).add_room_counts([
        RoomCounts("interrogation-1", 100.0, {Person.DETAINEE: 1, Person.OFFICER: 2}),
        RoomCounts("interrogation-1", 200.0, {Person.DETAINEE: 1, Person.OFFICER: 1}),
        RoomCounts("interrogation-1", 300.0, {Person.DETAINEE: 0, Person.OFFICER: 0}),
    ])
    counts = desk.get("/api/rooms/interrogation-1/counts", params={"since": 150, "until": 300}).json()
    assert [(c["at"], c["detainees"], c["officers"]) for c in counts] == [
        ("1970-01-01T00:01:40Z", 1, 2), ("1970-01-01T00:03:20Z", 1, 1)]
