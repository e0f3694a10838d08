"""Central mode: one server over the central database, a site filter, and clips fetched from boxes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import pytest
from central_boxes import T0, fired
from central_servers import serving
from pg_scratch import ScratchDatabases

from custodywatch.api.app import create_app
from custodywatch.api.box_links import BoxDirectory
from custodywatch.api.events import EventHub
from custodywatch.central_config import BoxLink, parse_central_config
from custodywatch.config import ConfigError
from custodywatch.recorder.testmedia import MediaSpec, frame_image, write_media
from custodywatch.rules.custody import CustodyRecord
from custodywatch.store.accounts import AccountStore, AuditLog, Role
from custodywatch.store.alerts import AlertStore
from custodywatch.store.central import CentralStore
from custodywatch.store.db import make_engine, migrate
from custodywatch.store.outbox import Outbox
from custodywatch.store.rules_state import RulesStateStore

PASSWORD = "correct horse battery"
ALERT = "site-a-clip-1"


def token(url: str, username: str) -> dict[str, str]:
    response = httpx.post(f"{url}/api/auth/login", json={"username": username, "password": PASSWORD},
                          timeout=5)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def box(tmp_path: Path) -> Iterator[tuple[str, Path, AuditLog]]:
    """A real box API (site-a/box1) holding one alert with a real clip; the centre's account on it."""
    data = tmp_path / "box-data"
    engine = make_engine(f"sqlite:///{tmp_path / 'box.db'}")
    migrate(engine)
    store = AlertStore(engine, "site-a", "box1")
    store.apply(fired(ALERT, T0))
    RulesStateStore(engine).put_custody(CustodyRecord("p1", "interrogation-1", "questioning", False, T0))
    (data / "clips" / ALERT).mkdir(parents=True)
    clip = write_media(data / "clips" / ALERT / "final.mp4", MediaSpec(seconds=2, width=320, height=180))
    ok, jpeg = cv2.imencode(".jpg", frame_image(7, MediaSpec(width=320, height=180)))
    assert ok
    (clip.parent / "snapshot.jpg").write_bytes(jpeg.tobytes())
    AccountStore(engine).add_user("central", Role.WATCH_DESK, PASSWORD)
    hub = EventHub()
    with serving(create_app(store, hub, engine=engine, data_dir=data), hub) as url:
        yield url, clip, AuditLog(engine)
    engine.dispose()


@pytest.fixture
def centre(pg_databases: ScratchDatabases, box: tuple[str, Path, AuditLog],
           tmp_path: Path) -> Iterator[tuple[str, AuditLog]]:
    """A centre holding the box's forwarded rows and two other sites' alerts, served with its boxes
    list (site-a/box1, the live box, and site-c/box9, a box that does not answer)."""
    box_url = box[0]
    engine = make_engine(pg_databases.url())
    migrate(engine)
    box_engine = make_engine(f"sqlite:///{tmp_path / 'box.db'}")
    CentralStore(engine).take("site-a", "box1", Outbox(box_engine).after(0, 100))
    box_engine.dispose()
    for site, box_id in (("site-b", "box1"), ("site-c", "box9")):
        other = make_engine(f"sqlite:///{tmp_path / f'{site}.db'}")
        migrate(other)
        AlertStore(other, site, box_id).apply(fired(f"{site}-1", T0 + 5))
        CentralStore(engine).take(site, box_id, Outbox(other).after(0, 100))
        other.dispose()
    AccountStore(engine).add_user("sup", Role.WATCH_DESK, PASSWORD)

    hub = EventHub()
    app = create_app(AlertStore(engine, "central", "central"), hub, engine=engine, title="central")
    app.state.central_boxes = BoxDirectory([
        BoxLink(site="site-a", box="box1", url=box_url, username="central", password=PASSWORD),
        BoxLink(site="site-c", box="box9", url="http://127.0.0.1:9", username="central", password=PASSWORD)])
    with serving(app, hub) as url:
        yield url, AuditLog(engine)
    engine.dispose()


def test_the_centre_serves_an_alert_clip_from_its_box_and_both_sides_audit_it(
        box: tuple[str, Path, AuditLog], centre: tuple[str, AuditLog]) -> None:
    _box_url, clip, box_audit = box
    url, central_audit = centre
    headers = token(url, "sup")
    whole = httpx.get(f"{url}/api/central/alerts/{ALERT}/clip", headers=headers, timeout=10)
    assert whole.status_code == 200, whole.text
    assert whole.content == clip.read_bytes() and whole.headers["content-type"] == "video/mp4"
    part = httpx.get(f"{url}/api/central/alerts/{ALERT}/clip", timeout=10,
                     headers={**headers, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == clip.read_bytes()[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{clip.stat().st_size}"

    # One viewing each side (a seek is not another viewing): who asked here, the centre's account there.
    here, _ = central_audit.entries(action="view_clip")
    assert [(e.actor, e.target, e.detail["site"], e.detail["via"]) for e in here] == [
        ("sup", ALERT, "site-a", "central")]
    there, _ = box_audit.entries(action="view_clip")
    assert [(e.actor, e.target) for e in there] == [("central", ALERT)]

    snapshot = httpx.get(f"{url}/api/central/alerts/{ALERT}/snapshot", headers=headers, timeout=10)
    assert snapshot.status_code == 200 and snapshot.content == (clip.parent / "snapshot.jpg").read_bytes()
    assert snapshot.headers["content-type"] == "image/jpeg"
    assert [e.actor for e in box_audit.entries(action="view_snapshot")[0]] == ["central"]
    assert [e.actor for e in central_audit.entries(action="view_snapshot")[0]] == ["sup"]


def test_a_box_that_does_not_answer_is_a_502_naming_it(centre: tuple[str, AuditLog]) -> None:
    url, central_audit = centre
    response = httpx.get(f"{url}/api/central/alerts/site-c-1/clip", headers=token(url, "sup"), timeout=15)
    assert response.status_code == 502 and "site-c/box9" in response.json()["detail"]
    assert central_audit.entries(action="view_clip")[1] == 0


def test_the_alert_list_filters_by_site_and_box(centre: tuple[str, AuditLog]) -> None:
    centre_url = centre[0]
    headers = token(centre_url, "sup")
    everything = httpx.get(f"{centre_url}/api/alerts", headers=headers, timeout=5).json()
    assert {a["site_id"] for a in everything["items"]} == {"site-a", "site-b", "site-c"}
    only_b = httpx.get(f"{centre_url}/api/alerts", params={"site": "site-b"}, headers=headers,
                       timeout=5).json()
    assert [a["id"] for a in only_b["items"]] == ["site-b-1"] and only_b["total"] == 1
    none = httpx.get(f"{centre_url}/api/alerts", params={"site": "site-a", "box": "box7"}, headers=headers,
                     timeout=5).json()
    assert none["total"] == 0


def test_boxes_custody_and_errors_of_the_centre(centre: tuple[str, AuditLog],
                                               box: tuple[str, Path, AuditLog]) -> None:
    centre_url = centre[0]
    headers = token(centre_url, "sup")
    boxes = httpx.get(f"{centre_url}/api/central/boxes", headers=headers, timeout=5).json()
    assert [(b["site_id"], b["box_id"], b["configured"], b["last_seq"]) for b in boxes] == [
        ("site-a", "box1", True, 2), ("site-b", "box1", False, 1), ("site-c", "box9", True, 1)]
    custody = httpx.get(f"{centre_url}/api/central/custody", headers=headers,
                        params={"released_since": T0 - 1}, timeout=5).json()
    assert [(c["site_id"], c["person"], c["release"]) for c in custody] == [("site-a", "p1", None)]
    no_threshold = httpx.get(f"{centre_url}/api/central/health", headers=headers, params={"stale_after_s": 0},
                             timeout=5)
    assert no_threshold.status_code == 422 and "stale_after_s" in no_threshold.text

    unconfigured = httpx.get(f"{centre_url}/api/central/alerts/site-b-1/clip", headers=headers, timeout=5)
    assert unconfigured.status_code == 404 and "site-b/box1" in unconfigured.json()["detail"]
    unknown = httpx.get(f"{centre_url}/api/central/alerts/nope/clip", headers=headers, timeout=5)
    assert unknown.status_code == 404
    # The box itself is no centre.
    box_url = box[0]
    on_box = httpx.get(f"{box_url}/api/central/boxes", headers=token(box_url, "central"), timeout=5)
    assert on_box.status_code == 404 and "not a centre" in on_box.json()["detail"]


def test_central_command_rejects_a_bad_config_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "central.yaml"
    path.write_text("database_url: sqlite:///x.db\nboxes:\n  - {site: a, box: b1, url: 'ftp://x', "
                    "username: c, password: hunter2hunter2}\n")
    run = subprocess.run([sys.executable, "-m", "custodywatch.cli", "central", "--config", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert f"{path}:1: database_url: " in run.stderr and "PostgreSQL" in run.stderr
    assert f"{path}:3: boxes[0].url: " in run.stderr
    assert "hunter2" not in run.stderr
    with pytest.raises(ConfigError, match="boxes: a/b1 is listed twice"):
        parse_central_config("database_url: postgresql://c@db/x\nboxes:\n"
                             + "  - {site: a, box: b1, url: 'http://x', username: c, password: p}\n" * 2)


def test_central_command_serves_over_the_central_database_and_stops_on_sigterm(
        pg_databases: ScratchDatabases, tmp_path: Path) -> None:
    path = tmp_path / "central.yaml"
    path.write_text(f"database_url: '{pg_databases.url()}'\napi: {{host: 127.0.0.1, port: 0}}\n")
    process = subprocess.Popen([sys.executable, "-m", "custodywatch.cli", "central", "--config", str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("custodywatch ready: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip().rstrip("/")
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        assert httpx.get(f"{url}/api/central/boxes", timeout=5).status_code == 401
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
