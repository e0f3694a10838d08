"""The zone editor's API: a camera's picture, its zones, saving them into the config file (validated
as the config is, the old file kept, audited) and the reload that follows; a broken file on reload."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from api_accounts import TokenFor
from conftest import Serve
from live_server import LiveServer
from sqlalchemy import Engine

from custodywatch.config import load_config
from custodywatch.config_reload import ConfigReloader
from custodywatch.recorder.testmedia import MediaSpec, write_media
from custodywatch.store.accounts import AuditLog, Role
from custodywatch.vocabulary import Zone

CONFIG = """\
# The installer's notes: kept through a save.
rooms:
  - id: interrogation-1
    type: interrogation   # two officers at least
  - {{id: corridor-1, type: corridor}}
cameras:
  - id: cam-i1
    room: interrogation-1
    detect_url: {video}
    zones:
      detainee_seat: [[0.6, 0.7], [1, 0.7], [1, 1]]   # the chair by the wall
      officer_area: [[0, 0.7], [0.5, 0.7], [0, 1]]
  - id: cam-c1
    room: corridor-1
    detect_url: {video}
"""
NEW_OFFICER_AREA = [[0.05, 0.1], [0.45, 0.1], [0.45, 0.6], [0.05, 0.6]]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_media(tmp_path_factory.mktemp("zones") / "room.mp4", MediaSpec(seconds=2, audio=None))


@pytest.fixture
def config_file(tmp_path: Path, video: Path) -> Path:
    path = tmp_path / "etc" / "cameras.yaml"
    path.parent.mkdir()
    path.write_text(CONFIG.format(video=json.dumps(str(video))), encoding="utf-8")
    return path


@pytest.fixture
def reloader(config_file: Path) -> ConfigReloader:
    return ConfigReloader(config_file, load_config(config_file))


@pytest.fixture
def server(serve: Serve, reloader: ConfigReloader) -> LiveServer:
    return serve(config=reloader.current, reloader=reloader)


@pytest.fixture
def admin(server: LiveServer, token_for: TokenFor) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=20, headers=token_for("admin-he", Role.ADMIN))


def test_an_admin_saves_zones_into_the_config_file_which_the_service_reloads(
    admin: httpx.Client, config_file: Path, engine: Engine
) -> None:
    before = config_file.read_text()
    shown = admin.get("/api/zones/cam-i1").json()
    assert shown["allowed"] == ["detainee_seat", "officer_area"] and shown["room_type"] == "interrogation"
    zones = {**shown["zones"], "officer_area": NEW_OFFICER_AREA}

    response = admin.put("/api/zones/cam-i1", json={"zones": zones})

    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["reload"]["ok"] is True and saved["reload"]["trigger"] == "zones saved by admin-he"
    # The file now holds the new zones, every other line as the installer wrote it.
    reread = load_config(config_file)
    assert [list(p) for p in reread.camera("cam-i1").zones[Zone.OFFICER_AREA]] == NEW_OFFICER_AREA
    after = config_file.read_text()
    assert "# The installer's notes: kept through a save." in after
    assert "type: interrogation   # two officers at least" in after
    removed = [line for line in before.splitlines() if line not in after.splitlines()]
    assert removed and all(line.lstrip().startswith(("detainee_seat:", "officer_area:")) for line in removed)
    # The previous file is kept beside it, named in the answer.
    backup = config_file.parent / saved["backup"]
    assert backup.read_text() == before
    # The running service serves the reloaded config, and /healthz tells of the reload.
    running = admin.get("/api/config").json()
    assert running["cameras"][0]["zones"]["officer_area"] == NEW_OFFICER_AREA
    assert admin.get("/healthz").json()["config"]["ok"] is True
    entry = AuditLog(engine).entries(action="zones_saved")[0][0]
    assert (entry.actor, entry.target, entry.detail["backup"]) == ("admin-he", "cam-i1", saved["backup"])
    assert entry.detail["zones"]["officer_area"] == NEW_OFFICER_AREA


@pytest.mark.parametrize(("zones", "zone", "says"), [
    ({"detainee_seat": [[0.6, 0.7], [1, 0.7], [1, 1]], "officer_area": [[0, 0], [1.5, 0], [1, 1]]},
     "officer_area", "less than or equal to 1"),
    ({"detainee_seat": [[0.6, 0.7], [1, 0.7]], "officer_area": [[0, 0], [0.5, 0], [0.5, 0.5]]},
     "detainee_seat", "at least 3"),
    ({"detainee_seat": [[0.6, 0.7], [1, 0.7], [1, 1]], "guard_post": [[0, 0], [0.5, 0], [0.5, 0.5]]},
     "guard_post", "not valid in a interrogation room"),
    ({"detainee_seat": [[0.6, 0.7], [1, 0.7], [1, 1]]}, "officer_area", "needs zone 'officer_area'"),
    ({"detainee_seat": [[0, 0], [1, 1], [1, 0], [0, 0.5]], "officer_area": [[0, 0], [0.5, 0], [0.5, 0.5]]},
     "detainee_seat", "cross each other"),
])
def test_zones_the_config_would_refuse_are_refused_naming_the_zone_and_nothing_is_written(
    admin: httpx.Client, config_file: Path, engine: Engine, zones: dict[str, list[list[float]]], zone: str,
    says: str,
) -> None:
    before = config_file.read_text()

    response = admin.put("/api/zones/cam-i1", json={"zones": zones})

    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    assert any(zone in f"{p['path']} {p['message']}" and says in p["message"] for p in problems), problems
    assert config_file.read_text() == before
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["cameras.yaml"]
    assert AuditLog(engine).entries(action="zones_saved")[1] == 0


def test_the_editor_gets_a_picture_of_the_camera_now(admin: httpx.Client) -> None:
    response = admin.get("/api/zones/cam-i1/frame")

    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (360, 640, 3)
    assert admin.get("/api/zones/cam-x/frame").status_code == 404
    assert admin.put("/api/zones/cam-x", json={"zones": {}}).status_code == 404


def test_a_broken_file_on_reload_keeps_the_running_config_and_is_reported(
    admin: httpx.Client, config_file: Path, reloader: ConfigReloader
) -> None:
    config_file.write_text(config_file.read_text().replace("type: corridor", "type: cellar"))

    report = reloader.reload("SIGHUP")

    assert report.ok is False
    assert any(":5: rooms[1].type:" in p for p in report.problems), report.problems
    health = admin.get("/healthz").json()
    assert health["severity"] == "warning" and health["config"]["problems"] == report.problems
    assert reloader.current.room("corridor-1").type.value == "corridor"
    # A save into a file that is broken now is refused until the file is fixed.
    saved = admin.put("/api/zones/cam-c1", json={"zones": {}})
    assert saved.status_code == 409 and "rooms[1].type" in saved.text
