"""The page in a real headless Chromium shows the box's health checks, alerts waiting for the
database, and a camera under maintenance."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from api_accounts import PASSWORD
from cdp import CHROMIUM, Page
from live_server import LiveServer
from login_form import submit_login
from sqlalchemy import Engine

from custodywatch.api.app import create_app
from custodywatch.api.events import EventHub
from custodywatch.api.schemas import HealthReport, StoreHealth
from custodywatch.box_health import ClockStatus
from custodywatch.box_monitor import BoxHealthMonitor
from custodywatch.box_sampler import BoxSampler
from custodywatch.config import HealthConfig, parse_config
from custodywatch.store.accounts import AccountStore, Role
from custodywatch.store.alerts import AlertStore
from custodywatch.store.maintenance import MaintenanceStore

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is missing: run scripts/setup.sh")
CONFIG = """
rooms: [{id: corridor-1, type: corridor}]
cameras:
  - {id: cam-a, room: corridor-1, detect_url: "rtsp://127.0.0.1:1/a"}
  - {id: cam-b, room: corridor-1, detect_url: "rtsp://127.0.0.1:1/b"}
"""
ROWS_JS = "[...document.querySelectorAll('#box-health-rows tr')].map((tr) => tr.textContent)"


def test_the_cameras_tab_shows_box_health_and_maintenance(
        tmp_path: Path, engine: Engine, store: AlertStore, hub: EventHub, accounts: AccountStore) -> None:
    accounts.add_user("desk-li", Role.WATCH_DESK, PASSWORD)
    MaintenanceStore(engine).start("cam-b", time.time() + 3600, "new lens", "tech-zhao")
    # A disk limit no disk meets: the disk check is raised from the first sample.
    monitor = BoxHealthMonitor(BoxSampler(tmp_path, clock=lambda: ClockStatus()),
                               HealthConfig(min_disk_free_gb=1e9, breach_after_s=0))
    monitor.sample_once()
    # A detector given up on, a reader being restarted and alerts waiting for a database that is
    # down: the watch desk must see all three.
    def health() -> HealthReport:
        return HealthReport(processes={"api": True, "detector-0": False, "reader-0": False},
                            down=["detector-0"], box=monitor.report(),
                            store=StoreHealth(reachable=False, alert_events_waiting=3,
                                              waiting_by_process={"analytics": 3}))

    app = create_app(store, hub, health, engine=engine, config=parse_config(CONFIG),
                     box_health=monitor.report)
    with LiveServer(app, hub) as server, Page(server.url + "/") as page:
        submit_login(page, "desk-li")
        page.wait_for("document.getElementById('connection').dataset.state === 'live'", what="the live feed")
        problems = page.wait_for("!document.getElementById('service-problems').hidden && "
                                 "document.getElementById('service-problems').textContent",
                                 what="the service problems banner")
        assert "needs a technician: detector-0" in problems and "Restarting: reader-0" in problems
        assert "Box health past its limit: disk_free" in problems
        assert "The database cannot be written: 3 alert event(s) wait on the box" in problems
        page.evaluate("document.querySelector('.tab[data-tab=\"cameras\"]').click()")
        rows = page.wait_for(f"{ROWS_JS}.length ? {ROWS_JS} : null", what="the box health table")
        disk = next(row for row in rows if row.startswith("disk_free"))
        assert "Past limit" in disk
        assert any(row.startswith("clock_offset") and "Unknown" in row for row in rows)
        assert any(row.startswith("memory") and "OK" in row for row in rows)
        note = page.wait_for(
            "document.querySelector('#camera-rows tr[data-camera=\"cam-b\"]')?.textContent.includes("
            "'Maintenance') && document.querySelector('#camera-rows tr[data-camera=\"cam-b\"]').textContent",
            what="cam-b's maintenance note")
        assert "Maintenance until" in note
        assert "Maintenance" not in page.evaluate(
            "document.querySelector('#camera-rows tr[data-camera=\"cam-a\"]').textContent")
