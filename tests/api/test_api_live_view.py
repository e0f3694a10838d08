"""The live view: a camera's stream as MJPEG through the API, without its credentials."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_accounts import PASSWORD, TokenFor
from cdp import CHROMIUM, Page
from conftest import Serve
from live_server import LiveServer
from login_form import submit_login
from sqlalchemy import Engine

from custodywatch.config import parse_config
from custodywatch.paths import project_root
from custodywatch.recorder.testmedia import MediaSpec, write_media
from custodywatch.rtsp_server import RtspLoopServer, default_python
from custodywatch.store.accounts import AccountStore, AuditLog, Role

CONFIG = """
rooms: [{{id: corridor-1, type: corridor}}]
cameras:
  - {{id: cam-c1, room: corridor-1, detect_url: "{live}"}}
  - {{id: cam-c2, room: corridor-1, detect_url: "rtsp://user:secret@127.0.0.1:1/none"}}
"""


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not default_python().is_file():
        pytest.skip("the RTSP server's venv is missing: run scripts/setup.sh")
    media = write_media(tmp_path_factory.mktemp("live") / "corridor.mp4", MediaSpec(seconds=6, audio=None))
    with RtspLoopServer({"cam-c1": media}) as server:
        yield server.url("cam-c1")


@pytest.fixture
def server(serve: Serve, camera: str) -> LiveServer:
    return serve(config=parse_config(CONFIG.format(live=camera), "cameras.yaml"))


def test_the_watch_desk_sees_the_room_now_as_jpegs(
    server: LiveServer, token_for: TokenFor, engine: Engine, tmp_path: Path
) -> None:
    headers = token_for("desk", Role.WATCH_DESK)
    with httpx.Client(base_url=server.url, timeout=20, headers=headers) as client, \
            client.stream("GET", "/api/cameras/cam-c1/live") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "multipart/x-mixed-replace; boundary=frame"
        received = b""
        for chunk in response.iter_bytes():
            received += chunk
            if received.count(b"--frame") >= 3:
                break
    parts = [p for p in received.split(b"--frame") if p]
    body = parts[0].split(b"\r\n\r\n", 1)[1]
    assert body[:2] == b"\xff\xd8", "a JPEG"
    assert [e.action for e in AuditLog(engine).entries()[0]] == ["view_live"]


def test_an_unknown_or_unreachable_camera_is_refused_without_its_credentials(
    server: LiveServer, token_for: TokenFor
) -> None:
    with httpx.Client(base_url=server.url, timeout=20, headers=token_for("desk", Role.WATCH_DESK)) as client:
        assert client.get("/api/cameras/cam-x9/live").status_code == 404
        unreachable = client.get("/api/cameras/cam-c2/live")
    assert unreachable.status_code == 502
    assert "secret" not in unreachable.text and "127.0.0.1" not in unreachable.text


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is missing: run scripts/setup.sh")
def test_the_camera_wall_opens_a_rooms_live_view_in_the_browser(
    server: LiveServer, accounts: AccountStore
) -> None:
    accounts.add_user("desk-wu", Role.WATCH_DESK, PASSWORD)
    with Page(server.url + "/") as page:
        submit_login(page, "desk-wu")
        page.wait_for("document.getElementById('connection').dataset.state === 'live'", what="the live feed")
        page.evaluate("document.querySelector('.tab[data-tab=\"cameras\"]').click()")
        page.wait_for("document.querySelector('tr[data-camera=\"cam-c1\"]') !== null", what="the camera wall")
        page.evaluate("document.querySelector('tr[data-camera=\"cam-c1\"]').click()")
        page.wait_for("document.getElementById('live-view').naturalWidth === 640", timeout_s=20,
                      what="the live picture")
        page.screenshot(project_root() / "test-output" / "watch-desk-live.png")
        page.evaluate("document.getElementById('live-close').click()")
        assert page.evaluate("document.getElementById('live').hidden") is True
