"""The watch-desk page in a real headless Chromium: log in, an alert arrives live, open it, its
clip plays beside the room's live view, acknowledge it; an investigator's recordings; an admin's
users, audit log and config. The screenshots are left in test-output/."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import zmq
from api_accounts import PASSWORD
from cdp import CHROMIUM, Page
from conftest import Serve
from login_form import submit_login
from sqlalchemy import Engine

from custodywatch.api.escalation import Escalator
from custodywatch.api.events import EventHub, ZmqEventBridge
from custodywatch.config import Config, RecorderConfig, load_config, parse_config
from custodywatch.config_reload import ConfigReloader
from custodywatch.paths import project_root
from custodywatch.recorder.alert_clips import AlertClipper
from custodywatch.recorder.catalog import RecorderCatalog
from custodywatch.recorder.index import ArchiveIndex, SegmentRecord
from custodywatch.recorder.signing import fingerprint, load_or_create_key
from custodywatch.rules.custody import CustodyRecord
from custodywatch.rules.engine import RoomCounts
from custodywatch.rules.events import AlertEvent
from custodywatch.store.accounts import AccountStore, Role
from custodywatch.store.alerts import AlertStore
from custodywatch.store.rules_state import RulesStateStore
from custodywatch.store.views import AlertState
from custodywatch.vocabulary import Role as Person
from custodywatch.vocabulary import RuleId, Severity, Zone

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is missing: run scripts/setup.sh")
SCREENSHOTS = project_root() / "test-output"
PUSH_WITHIN_S = 1.0  # the target for alert committed -> shown
OFFICER_AREA_CLICKS = [(0.1, 0.2), (0.4, 0.2), (0.4, 0.6)]  # where the admin clicks on the picture
CONFIG = """
rooms: [{{id: interrogation-1, type: interrogation}}, {{id: corridor-1, type: corridor}}]
cameras:
  - id: cam-a
    room: interrogation-1
    detect_url: {live}
    zones: {{detainee_seat: [[0.6, 0.7], [1, 0.7], [1, 1]], officer_area: [[0, 0.7], [0.5, 0.7], [0, 1]]}}
  - {{id: cam-b, room: corridor-1, detect_url: "rtsp://viewer:s3cret@127.0.0.1:1/none"}}
"""
# Whether the Chinese heading is drawn with real glyphs: without a CJK font every character is the
# same missing-glyph box (tofu), so three different characters would ink alike.
GLYPHS_JS = """(() => {
  const family = getComputedStyle(document.querySelector('.bar h1')).fontFamily;
  const ink = (ch) => {
    const c = document.createElement('canvas'); c.width = 48; c.height = 48;
    const g = c.getContext('2d'); g.font = `36px ${family}`; g.fillText(ch, 4, 38);
    const a = g.getImageData(0, 0, 48, 48).data;
    let n = 0, sum = 0;
    for (let i = 3; i < a.length; i += 4) if (a[i] > 127) { n += 1; sum += i; }
    return `${n}:${sum}`;
  };
  return [...document.querySelector('.bar h1').textContent, '\uE000'].map(ink);
})()"""


def config(recorded: Path) -> Config:
    """cam-a's live view plays the recorded camera's file (a file plays as a camera would); cam-b has
    credentials in its URL, which the admin's config view must not show."""
    return parse_config(CONFIG.format(live=json.dumps(str(recorded / "camera.mp4"))), "cameras.yaml")


def test_log_in_see_an_alert_arrive_live_play_its_clip_and_acknowledge_it(
    recorded: Path, tmp_path: Path, engine: Engine, store: AlertStore, hub: EventHub, accounts: AccountStore,
    serve: Serve,
) -> None:
    accounts.add_user("desk-wu", Role.WATCH_DESK, PASSWORD)
    endpoint = f"ipc://{tmp_path / 'events.sock'}"
    heard = threading.Event()
    # Escalated to desk-wu (the duty officer) before they logged in: the page must list it for them.
    now = time.time()
    store.apply(AlertEvent("fired", "a-waiting", RuleId.UNATTENDED_DETAINEE, "interrogation-1", "cam-a",
                           Severity.ALARM, now - 700, now - 650))
    server = serve(bridge=ZmqEventBridge(hub, store, endpoint, on_health=lambda _r: heard.set()),
                   data_dir=recorded, config=config(recorded),
                   escalator=Escalator(store, hub, 300, ["desk-wu"]))
    context = zmq.Context()
    analytics = context.socket(zmq.PUB)  # stands in for the analytics process
    analytics.connect(endpoint)
    try:
        with Page(server.url + "/") as page:
            submit_login(page, "desk-wu", "wrong password")
            page.wait_for("document.getElementById('login-error').textContent.includes('Wrong')",
                          what="the failed-login message")
            page.evaluate(f"""
                document.getElementById('login-password').value = {json.dumps(PASSWORD)};
                document.getElementById('login-form').requestSubmit();""")
            page.wait_for("document.getElementById('connection').dataset.state === 'live'",
                          what="the live feed")
            assert page.evaluate("document.getElementById('who').textContent") == "desk-wu · watch desk"
            assert page.evaluate("document.cookie") == "", "the session cookie is HttpOnly"
            assert page.evaluate("document.querySelector('.tab[data-tab=\"recordings\"]').hidden") is True
            assert page.evaluate("document.querySelector('.tab[data-tab=\"admin\"]').hidden") is True
            waiting = page.wait_for("document.querySelector('#my-escalations:not([hidden])')?.textContent",
                                    what="the escalation waiting for desk-wu")
            assert "escalated to you" in waiting
            assert "Unattended detainee in interrogation-1 (11 min)" in waiting
            page.evaluate("document.getElementById('language').click()")  # 中文 and back
            assert page.evaluate("document.querySelector('.bar h1').textContent") == "值班台"
            assert page.evaluate("document.getElementById('who').textContent") == "desk-wu · 值班员"
            assert "升级给您" in page.evaluate("document.getElementById('my-escalations').textContent")
            *heading, missing = page.evaluate(GLYPHS_JS)
            assert len(set(heading)) == 3 and missing not in heading, f"CJK glyphs not drawn: {heading}"
            assert all(int(ink.split(":")[0]) > 60 for ink in heading), heading
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(SCREENSHOTS / "watch-desk-zh.png")
            page.evaluate("document.getElementById('language').click()")
            assert page.evaluate("document.querySelector('.bar h1').textContent") == "Watch desk"

            deadline = time.monotonic() + 10
            while not heard.wait(0.05):  # PUB drops what it sends before the bridge is connected
                assert time.monotonic() < deadline, "the bridge never heard the analytics socket"
                analytics.send_json({"type": "health", "processes": {"analytics": True}, "cameras": {}})

            # Analytics commits an alert, the recorder cuts its clip, then the alert is published.
            records = ArchiveIndex(recorded / "archive").records()
            segments = [r for r in records if isinstance(r, SegmentRecord)]
            first = min(segments, key=lambda r: r.start)
            fired = AlertEvent("fired", "a-live", RuleId.SINGLE_OFFICER, "interrogation-1", "cam-a",
                               Severity.ALARM, first.start + 1, first.start + 2)
            store.apply(fired)
            RulesStateStore(engine).add_room_counts([  # what the rules saw: the second officer leaves
                RoomCounts("interrogation-1", first.start - 30, {Person.DETAINEE: 1, Person.OFFICER: 2}),
                RoomCounts("interrogation-1", first.start + 1, {Person.DETAINEE: 1, Person.OFFICER: 1})])
            AlertClipper(engine, ArchiveIndex(recorded / "archive"), recorded / "clips",
                         RecorderConfig(pre_roll_s=0.5, post_roll_s=1.5)).poll(first.start + 60)
            published = time.monotonic()
            analytics.send_json({"type": "alert", "event": fired.to_dict()})
            page.wait_for("document.querySelector('tr[data-id=\"a-live\"]') !== null", what="the alert row")
            shown_after = time.monotonic() - published
            assert shown_after <= PUSH_WITHIN_S, f"shown {shown_after:.2f} s after it was published"
            row_class = page.evaluate("document.querySelector('tr[data-id=\"a-live\"]').className")
            assert "open-alarm" in row_class

            page.evaluate("document.querySelector('tr[data-id=\"a-live\"]').click()")
            page.wait_for("document.getElementById('detail-snapshot').naturalWidth > 0", what="the snapshot")
            # Beside the snapshot and clip, the room now: cam-a's live view streams into the <img>.
            assert page.wait_for("document.getElementById('detail-live').naturalWidth", timeout_s=20,
                                 what="the room's live view") == 640
            assert page.evaluate("document.getElementById('detail-live').getAttribute('src')") \
                == "/api/cameras/cam-a/live"
            parts = page.wait_for("[...document.querySelectorAll('#detail-room .part')]"
                                  ".map(p => p.textContent)", what="who was in the room")
            assert parts == ["1/2", "1/1"]
            page.wait_for("document.getElementById('detail-clip').currentTime > 1.0", timeout_s=30,
                          what="the clip playing")
            shot = page.screenshot(SCREENSHOTS / "watch-desk-alert.png")
            assert shot.stat().st_size > 10_000

            page.evaluate("document.querySelector('#detail-actions button.ack').click()")
            page.wait_for("document.querySelector('tr[data-id=\"a-live\"] td.state').textContent"
                          ".includes('desk-wu')", what="the acknowledgement on the page")
            alert = store.get("a-live")
            assert (alert.state, alert.acknowledged_by) == (AlertState.ACKNOWLEDGED, "desk-wu")
            page.evaluate("document.getElementById('detail-close').click()")  # and with it the live view
            assert page.evaluate("document.getElementById('detail-live').hasAttribute('src')") is False

            # The custody board: check someone in on the page, see the clock, release them.
            page.evaluate("document.querySelector('.tab[data-tab=\"custody\"]').click()")
            page.wait_for("document.getElementById('checkin-basis').options.length > 0",
                          what="the legal bases")
            page.evaluate("""
                document.getElementById('checkin-person').value = 'case-17 Zhang';
                document.getElementById('checkin-basis').value = 'questioning';
                document.getElementById('checkin-form').requestSubmit();""")
            left = page.wait_for("document.querySelector('tr[data-person=\"case-17 Zhang\"] td.left')"
                                 "?.textContent", what="the custody row")
            assert left.startswith(("8:00:0", "7:59:")), left
            page.screenshot(SCREENSHOTS / "watch-desk-custody.png")
            row = "document.querySelector('tr[data-person=\"case-17 Zhang\"]')"
            assert page.evaluate(f"{row}.querySelector('button.hold') === null"), "investigators hold"
            page.evaluate(f"window.confirm = () => true; {row}.querySelector('button.release').click()")
            page.wait_for("document.getElementById('custody-empty').hidden === false", what="the release")
    finally:
        analytics.close(linger=0)
        context.term()


def log_in(page: Page, username: str) -> None:
    submit_login(page, username)
    # Who is shown once this login is in (after a logout the bar still reads as before until then).
    page.wait_for(f"document.getElementById('who').textContent.startsWith({json.dumps(username + ' ')})",
                  what="the login")
    page.wait_for("document.getElementById('connection').dataset.state === 'live'", what="the live feed")


def test_an_investigator_holds_a_moment_of_the_recording_then_an_admin_manages_users(
    recorded: Path, accounts: AccountStore, serve: Serve, engine: Engine, tmp_path: Path
) -> None:
    accounts.add_user("inv-chen", Role.INVESTIGATOR, PASSWORD)
    accounts.add_user("admin-he", Role.ADMIN, PASSWORD)
    key = fingerprint(load_or_create_key(recorded / "keys").public_key())  # made at install
    checked_in = time.time() - 600
    RulesStateStore(engine).put_custody(CustodyRecord("case-20 Liu", "interrogation-1", "questioning", False,
                                                      checked_in))
    config_file = tmp_path / "cameras.yaml"
    config_file.write_text(CONFIG.format(live=json.dumps(str(recorded / "camera.mp4"))), encoding="utf-8")
    reloader = ConfigReloader(config_file, load_config(config_file))
    server = serve(data_dir=recorded, config=reloader.current, reloader=reloader)
    segments = [r for r in ArchiveIndex(recorded / "archive").records() if isinstance(r, SegmentRecord)]
    start, end = min(s.start for s in segments) - 5, max(s.end for s in segments) + 5
    with Page(server.url + "/") as page:
        log_in(page, "inv-chen")
        page.evaluate("document.querySelector('.tab[data-tab=\"recordings\"]').click()")
        page.wait_for("document.getElementById('rec-camera').options.length > 0", what="the cameras")
        page.evaluate(f"""
            document.getElementById('rec-from').value = localInput({start});
            document.getElementById('rec-until').value = localInput({end});
            document.getElementById('recordings-form').requestSubmit();""")
        page.wait_for("document.querySelectorAll('#rec-timeline .seg').length > 0", what="the recorded spans")
        # Click on the bar a third of the way into the recording, as the investigator would.
        fraction = (min(s.start for s in segments) + 1 - start) / (end - start)
        page.evaluate(f"""
            const box = document.getElementById('rec-timeline').getBoundingClientRect();
            document.getElementById('rec-timeline').dispatchEvent(new MouseEvent('click', {{
                bubbles: true, clientX: box.left + box.width * {fraction}, clientY: box.top + 5}}));""")
        page.wait_for("document.getElementById('rec-video').currentTime > 1.0", timeout_s=30,
                      what="the recording playing")
        assert page.evaluate("document.getElementById('rec-cursor').hidden") is False
        page.screenshot(SCREENSHOTS / "investigator-recordings.png")
        page.evaluate("window.prompt = () => 'case 2024-17'; document.getElementById('rec-hold').click()")
        page.wait_for("document.getElementById('rec-status').textContent.includes('legal hold by inv-chen')",
                      what="the legal hold")
        assert key in page.evaluate("document.getElementById('box-key').textContent")
        # The custody board: hold all footage of one person's custody (its room's cameras, check-in to now).
        page.evaluate("document.querySelector('.tab[data-tab=\"custody\"]').click()")
        page.wait_for("document.querySelector('tr[data-person=\"case-20 Liu\"] button.hold') != null",
                      what="the custody row's hold button")
        page.evaluate("window.prompt = () => 'complaint 2024-5';"
                      "document.querySelector('tr[data-person=\"case-20 Liu\"] button.hold').click()")
        page.wait_for("document.getElementById('notice').textContent.includes('legal hold by inv-chen')",
                      what="the custody hold")
        assert page.evaluate("document.querySelector('.tab[data-tab=\"admin\"]').hidden") is True

        # The admin, on the same page after the investigator logs out.
        page.evaluate("document.getElementById('logout').click()")
        log_in(page, "admin-he")
        page.evaluate("window.prompt = () => ''; document.querySelector('.tab[data-tab=\"admin\"]').click()")
        page.wait_for("document.querySelector('#user-rows tr[data-user=\"inv-chen\"]') !== null",
                      what="the users")
        page.evaluate("""
            document.getElementById('user-name').value = 'desk-new';
            document.getElementById('user-role').value = 'watch_desk';
            document.getElementById('user-form').requestSubmit();""")
        password_shown = ("document.getElementById('user-status').textContent"
                          ".match(/shown only now: (\\S+)/)?.[1]")
        shown = page.wait_for(password_shown, what="the generated password")
        assert accounts.login("desk-new", shown) is not None
        page.wait_for("document.querySelector('#user-rows tr[data-user=\"desk-new\"] button.toggle') != null",
                      what="the new user's row")
        page.evaluate("document.querySelector('#user-rows tr[data-user=\"desk-new\"] button.toggle').click()")
        page.wait_for("document.querySelector('#user-rows tr[data-user=\"desk-new\"] td.status')"
                      ".textContent === 'Disabled'", what="the user disabled")
        page.evaluate("document.querySelector('#user-rows tr[data-user=\"admin-he\"] button.toggle').click()")
        page.wait_for("document.getElementById('user-status').textContent.includes('cannot disable')",
                      what="the admin kept from locking themself out")
        page.evaluate("document.querySelector('#user-rows tr[data-user=\"inv-chen\"] button.reset').click()")
        reset = page.wait_for(password_shown, what="the reset password")
        assert reset != shown and accounts.login("inv-chen", reset) is not None
        actions = page.wait_for("""(() => { const a = [...document.querySelectorAll('#audit-rows tr')]
            .map(r => r.dataset.action); return a.includes('user_password_reset') && a; })()""",
                                what="the audit log")
        assert {"hold_create", "user_add", "user_change", "login"} <= set(actions)
        chain = page.evaluate("document.getElementById('audit-chain').textContent")
        assert chain.startswith("Hash chain intact"), chain
        shown_config = page.wait_for("document.getElementById('config-view').textContent", what="the config")
        assert '"cam-b"' in shown_config and "s3cret" not in shown_config and "viewer" not in shown_config
        page.wait_for(f"document.getElementById('admin-box').textContent.includes({json.dumps(key)})",
                      what="the box's key fingerprint")
        page.evaluate("document.getElementById('language').click()")
        assert page.evaluate("document.querySelector('#tab-admin h2').textContent") == "用户"
        page.wait_for("document.getElementById('audit-chain').textContent.startsWith('哈希链完整')",
                      what="the audit chain status in Chinese")
        page.evaluate("document.getElementById('language').click()")
        page.screenshot(SCREENSHOTS / "admin-users-audit-config.png")

        # The zone editor: a new officer area clicked onto cam-a's picture now, saved, read back.
        page.evaluate("document.querySelector('.tab[data-tab=\"zones\"]').click()")
        page.wait_for("document.getElementById('zones-frame').dataset.loaded === 'true'", timeout_s=30,
                      what="the camera's picture")
        page.evaluate("""const zone = document.getElementById('zones-zone'); zone.value = 'officer_area';
            zone.dispatchEvent(new Event('change')); document.getElementById('zones-clear').click();""")
        box = page.evaluate("(() => { const b = document.getElementById('zones-canvas')"
                            ".getBoundingClientRect(); return [b.left, b.top, b.width, b.height]; })()")

        def mouse(kind: str, x: float, y: float) -> None:
            page.call("Input.dispatchMouseEvent", type=kind, x=box[0] + box[2] * x, y=box[1] + box[3] * y,
                      button="left", clickCount=1)

        for x, y in [*OFFICER_AREA_CLICKS[:2], (0.45, 0.65)]:
            mouse("mousePressed", x, y)
            mouse("mouseReleased", x, y)
        # The last point dragged to where it belongs.
        mouse("mousePressed", 0.45, 0.65)
        mouse("mouseMoved", *OFFICER_AREA_CLICKS[2])
        mouse("mouseReleased", *OFFICER_AREA_CLICKS[2])
        assert page.evaluate("document.getElementById('zones-count').textContent") == "3 point(s)"
        page.evaluate("document.getElementById('zones-save').click()")
        page.wait_for("document.getElementById('zones-status').textContent.includes('service reloaded it')",
                      what="the zones saved and reloaded")
        saved = [list(p) for p in load_config(config_file).camera("cam-a").zones[Zone.OFFICER_AREA]]
        assert [v for p in saved for v in p] == pytest.approx([v for p in OFFICER_AREA_CLICKS for v in p],
                                                              abs=0.01)
        assert reloader.current.camera("cam-a").zones[Zone.OFFICER_AREA] == load_config(
            config_file).camera("cam-a").zones[Zone.OFFICER_AREA]
        shown_zones = json.loads(page.evaluate("document.getElementById('zones-editor').dataset.points"))
        assert shown_zones["officer_area"] == saved
        page.screenshot(SCREENSHOTS / "admin-zone-editor.png")
    holds = RecorderCatalog(engine).holds(active_only=True)
    assert [(h.cameras, h.reason, h.created_by, h.custody_id) for h in holds] == [
        (["cam-a"], "case 2024-17", "inv-chen", None), (["cam-a"], "complaint 2024-5", "inv-chen", "1")]
    assert holds[1].start == checked_in
