"""The page served by a centre, in a real headless Chromium: many sites' alerts (a forwarded one
pushed live), a site filter, an alert's clip played from the box that recorded it (through the
centre), and every box's custody and camera boards (stale health marked)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from api_accounts import PASSWORD
from cdp import CHROMIUM, Page
from live_server import LiveServer
from login_form import submit_login
from pg_scratch import ScratchDatabases

from custodywatch.api.app import create_app
from custodywatch.api.box_links import BoxDirectory
from custodywatch.api.central_feed import CentralAlertFeed
from custodywatch.api.events import EventHub
from custodywatch.central_config import BoxLink
from custodywatch.paths import project_root
from custodywatch.recorder.testmedia import MediaSpec, write_media
from custodywatch.rules.custody import CustodyRecord
from custodywatch.rules.events import AlertEvent
from custodywatch.store.accounts import AccountStore, Role
from custodywatch.store.alerts import AlertStore
from custodywatch.store.central import CentralStore
from custodywatch.store.db import make_engine, migrate
from custodywatch.store.outbox import Outbox, OutboxKind
from custodywatch.store.rules_state import RulesStateStore
from custodywatch.vocabulary import RuleId, Severity

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is missing: run scripts/setup.sh")
T0 = 1_700_000_000.0


def test_the_centre_page_filters_by_site_and_plays_a_clip_from_the_box(pg_databases: ScratchDatabases,
                                                                       tmp_path: Path) -> None:
    central = make_engine(pg_databases.url())
    migrate(central)
    AccountStore(central).add_user("sup", Role.WATCH_DESK, PASSWORD)
    boxes = {}
    for n, site in enumerate(("north", "south")):
        engine = make_engine(f"sqlite:///{tmp_path / site / 'box.db'}")
        migrate(engine)
        alert_id = f"{site}-alert"
        AlertStore(engine, site, "box1").apply(AlertEvent(
            "fired", alert_id, RuleId.SINGLE_OFFICER, "interrogation-1", "cam-a", Severity.ALARM,
            T0 + n * 60, T0 + n * 60 + 60))
        RulesStateStore(engine).put_custody(CustodyRecord(f"p-{site}", "interrogation-1", "summons", False,
                                                          time.time() - 600))
        # North's box last reported ten minutes ago (cut off since): its health is stale.
        reported_at = time.time() - (600 if site == "north" else 0)
        Outbox(engine).add(OutboxKind.HEALTH, "cam-a", {
            "camera": "cam-a", "connected": site == "north", "fps_in": 2.0, "fps_analysed": 2.0, "dropped": 0,
            "reconnects": 0, "last_frame_at": None, "reported_at": reported_at})
        CentralStore(central).take(site, "box1", Outbox(engine).after(0, 10))
        AccountStore(engine).add_user("central", Role.WATCH_DESK, PASSWORD)
        clips = tmp_path / site / "clips" / alert_id
        clips.mkdir(parents=True)
        write_media(clips / "final.mp4", MediaSpec(seconds=3, width=320, height=180))
        boxes[site] = engine

    box_hub = EventHub()
    box_app = create_app(AlertStore(boxes["south"], "south", "box1"), box_hub, engine=boxes["south"],
                         data_dir=tmp_path / "south")
    hub = EventHub()
    store = AlertStore(central, "central", "central")
    app = create_app(store, hub, engine=central, title="central",
                     central_feed=CentralAlertFeed(hub, store, CentralStore(central)))
    try:
        with LiveServer(box_app, box_hub) as box:
            app.state.central_boxes = BoxDirectory([BoxLink(site="south", box="box1", url=box.url,
                                                            username="central", password=PASSWORD)])
            with LiveServer(app, hub) as centre, Page(centre.url + "/") as page:
                submit_login(page, "sup")
                rows = "[...document.querySelectorAll('#alert-rows tr')].map((tr) => tr.dataset.id).sort()"
                page.wait_for(f"{rows}.length === 2", what="both sites' alerts")
                # Forwarded while the page is open: the centre pushes it (the page re-reads no list).
                AlertStore(boxes["north"], "north", "box1").apply(AlertEvent(
                    "fired", "north-live", RuleId.GUARD_ABSENT, "holding-1", "cam-h", Severity.ALARM,
                    time.time() - 60, time.time()))
                CentralStore(central).take("north", "box1", Outbox(boxes["north"]).after(0, 10))
                page.wait_for(f"{rows}.length === 3", timeout_s=10, what="the forwarded alert, pushed")
                page.wait_for("!document.getElementById('site-filter-label').hidden", what="the site filter")
                options = page.evaluate(
                    "[...document.getElementById('site-filter').options].map((o) => o.value)")
                assert sorted(options) == ["", "north", "south"]
                page.evaluate("""const f = document.getElementById('site-filter');
                                 f.value = 'south'; f.dispatchEvent(new Event('change'));""")
                page.wait_for(f"JSON.stringify({rows}) === '[\"south-alert\"]'", what="only the south alert")
                page.evaluate("document.querySelector('tr[data-id=\"south-alert\"]').click()")
                page.wait_for("document.getElementById('detail-clip').src.includes('/api/central/alerts/')",
                              what="the clip asked of the centre")
                page.wait_for("document.getElementById('detail-clip').currentTime > 1.0", timeout_s=30,
                              what="the box's clip playing through the centre")

                page.evaluate("document.querySelector('.tab[data-tab=\"boxes\"]').click()")
                board = page.wait_for("""(() => {
                    const rows = [...document.querySelectorAll('#central-box-rows tr')];
                    return rows.length === 2 && rows.map((tr) => [...tr.cells].map((c) => c.textContent));
                })()""", what="the boxes board")
                assert [(r[0], r[2], r[3]) for r in board] == [("north/box1", "1 / 1", "1"),
                                                               ("south/box1", "0 / 1", "1")]
                assert all(r[1].endswith("s ago") for r in board), board
                page.screenshot(project_root() / "test-output" / "centre-boxes.png")

                # Every box's custody board, read-only, with the site filter (still south) applied.
                page.evaluate("document.querySelector('.tab[data-tab=\"custody\"]').click()")
                custody = """[...document.querySelectorAll('#central-custody-rows tr')]
                             .map((tr) => [...tr.cells].map((c) => c.textContent))"""
                south = page.wait_for(f"(() => {{ const r = {custody}; return r.length === 1 && r; }})()",
                                      what="the south box's custody board")
                assert south[0][:3] == ["south/box1", "p-south", "interrogation-1"], south
                assert south[0][5].startswith("0:1"), south  # held for ten minutes and counting
                assert page.evaluate("document.getElementById('checkin-form').offsetParent === null")
                page.evaluate("""{ const f = document.getElementById('site-filter');
                                   f.value = ''; f.dispatchEvent(new Event('change')); }""")
                both = page.wait_for(f"(() => {{ const r = {custody}; return r.length === 2 && r; }})()",
                                     what="both boxes' custody boards")
                assert [r[:2] for r in both] == [["north/box1", "p-north"], ["south/box1", "p-south"]]

                page.evaluate("document.querySelector('.tab[data-tab=\"cameras\"]').click()")
                cameras = page.wait_for("""(() => {
                    const rows = [...document.querySelectorAll('#central-camera-rows tr')];
                    return rows.length === 2 && rows.map((tr) => [tr.dataset.box, tr.className,
                                                                  tr.cells[2].textContent]);
                })()""", what="both boxes' cameras")
                (north_box, north_class, north_status), (south_box, south_class, south_status) = cameras
                assert (north_box, south_box) == ("north/box1", "south/box1")
                assert "stale" in north_class and "Stale: last report 10 min ago" in north_status, cameras
                assert "stale" not in south_class and "open-alarm" in south_class, cameras
                assert "No video" in south_status and "Stale" not in south_status, cameras
                page.screenshot(project_root() / "test-output" / "centre-cameras.png")
    finally:
        central.dispose()
        for engine in boxes.values():
            engine.dispose()
