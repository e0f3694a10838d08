"""Fault 7: the database locked (SQLite: another connection holds an exclusive lock past the busy
timeout) or unreachable for 30 s (PostgreSQL behind a TCP proxy that refuses): the alerts that fire
meanwhile are kept by the analytics process, written with their own times when the database
returns, and reach the watch desk's live feed once each.

The real analytics component runs the rules on detections sent over ZMQ, as the detector sends
them; the real API relays its alerts to a real SSE client."""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import zmq
from faults_feed import AnalyticsThread, ApiThread, FeedClient, watch_desk_headers
from holding_detections import detainee_alone
from pg_scratch import ScratchDatabases, server_url
from sqlalchemy.engine import make_url
from tcp_proxy import TcpProxy

from custodywatch.config import parse_config
from custodywatch.pipeline.messages import FrameDetections
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import BUSY_TIMEOUT_MS, make_engine, migrate
from custodywatch.store.views import AlertView

pytestmark = pytest.mark.slow

FPS = 4.0
WARN_S, ALARM_S = 4.0, 8.0
CFG = parse_config(f"""
site: {{id: site, box_id: box1}}
roles: {{enter_s: 0.5, exit_s: 1}}
rooms:
  - id: hold-1
    type: holding
    rules:
      guard_absent: {{warn_after_s: {WARN_S}, alarm_after_s: {ALARM_S}}}
cameras:
  - id: cam-h
    room: hold-1
    detect_url: h.mp4
    fps: 4
    zones:
      detainee_area: [[0.6, 0.5], [1, 0.5], [1, 1], [0.6, 1]]
      guard_post: [[0, 0.5], [0.55, 0.5], [0.55, 1], [0, 1]]
""")


class Camera:
    """The detector's side: a detainee alone in the holding room (the guard post empty), 4 fps."""

    def __init__(self, endpoint: str):
        self._context = zmq.Context()
        self._push = self._context.socket(zmq.PUSH)
        self._push.setsockopt(zmq.LINGER, 0)
        self._push.connect(endpoint)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, name="camera", daemon=True)

    def __enter__(self) -> Camera:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._context.destroy(linger=0)

    def _send(self) -> None:
        index = 0
        while not self._stop.wait(1 / FPS):
            self._push.send_pyobj(FrameDetections("cam-h", time.time(), index, (640, 360), detainee_alone()))
            index += 1


def guard_absent(store: AlertStore) -> AlertView | None:
    items = [a for a in store.list().items if a.rule.value == "guard_absent"]
    return items[0] if items else None


def test_sqlite_locked_past_the_busy_timeout_keeps_the_alert_and_writes_it_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="custodywatch.analytics")
    path = tmp_path / "custodywatch.db"
    db_url = f"sqlite:///{path}"
    engine = make_engine(db_url)
    migrate(engine)
    headers = watch_desk_headers(engine)
    detections, events = f"ipc://{tmp_path / 'detections'}", f"ipc://{tmp_path / 'events'}"
    # Several busy timeouts: the analytics' other writes (room counts, rule state) wait one out
    # each before the alert's write is tried, and that one too must fail, not just wait.
    hold_s = 3 * BUSY_TIMEOUT_MS / 1000 + 1.0
    with ApiThread(engine, events) as api, FeedClient(api.url, headers) as feed, \
            AnalyticsThread(CFG, db_url, detections, events), Camera(detections):
        started = time.time()
        time.sleep(1.0)
        locker = sqlite3.connect(path, timeout=10, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        locked_at = time.time()
        # The warning and the alarm fall due WARN_S and ALARM_S after the detainee was first seen,
        # inside the lock.
        time.sleep(hold_s)
        assert guard_absent(api.store) is None, "written while the database was locked"
        locker.execute("COMMIT")
        locker.close()
        released_at = time.time()
        feed.wait_for("the warning and the alarm on the feed",
                      lambda: [c[1] for c in feed.alert_changes()] == ["fired", "escalated"], 20)
        heard = next(e for e in feed.events if e.event == "alert")
    alert = guard_absent(AlertStore(engine, "site", "box1"))
    assert alert is not None
    condition = alert.condition_started_at.timestamp()
    assert started <= condition < started + 1.5
    # Its own time, inside the lock, not the time it could be written.
    assert alert.fired_at.timestamp() == pytest.approx(condition + WARN_S)
    assert alert.severity.value == "alarm"
    assert [h.at.timestamp() - condition for h in alert.history] == pytest.approx([WARN_S, ALARM_S])
    assert locked_at < alert.fired_at.timestamp() < released_at
    assert heard.received >= released_at
    assert heard.data["alert"]["fired_at_epoch"] == pytest.approx(condition + WARN_S)
    assert feed.alert_changes() == [(alert.id, "fired"), (alert.id, "escalated")]
    messages = [r.getMessage() for r in caplog.records]
    assert any("store unavailable" in m for m in messages), messages
    assert any("store back after" in m for m in messages), messages
    into = alert.fired_at.timestamp() - locked_at
    print(f"sqlite locked {released_at - locked_at:.1f} s; alert fired {into:.1f} s into the lock, "
          f"on the feed {heard.received - released_at:.1f} s after the release")
    engine.dispose()


def test_postgresql_unreachable_for_30_s_keeps_the_alerts_and_writes_them_in_order(
    tmp_path: Path, pg_databases: ScratchDatabases, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="custodywatch.analytics")
    name = pg_databases.create()
    direct = make_url(server_url(name))
    direct_engine = make_engine(str(direct.render_as_string(hide_password=False)))
    migrate(direct_engine)
    headers = watch_desk_headers(direct_engine)
    detections, events = f"ipc://{tmp_path / 'detections'}", f"ipc://{tmp_path / 'events'}"
    with TcpProxy(direct.host or "127.0.0.1", direct.port or 5432, mode="refuse") as proxy:
        # Both processes reach the database through the proxy, as both would lose a real link.
        db_url = server_url(name, "127.0.0.1", proxy.port)
        engine = make_engine(db_url)
        with ApiThread(engine, events) as api, FeedClient(api.url, headers) as feed, \
                AnalyticsThread(CFG, db_url, detections, events), Camera(detections):
            started = time.time()
            time.sleep(1.0)
            proxy.cut()
            cut_at = time.time()
            time.sleep(30.0)  # warning and alarm both fall due in here
            assert guard_absent(AlertStore(direct_engine, "site", "box1")) is None
            proxy.restore()
            restored_at = time.time()
            feed.wait_for("the warning and the alarm on the feed",
                          lambda: [c[1] for c in feed.alert_changes()] == ["fired", "escalated"], 30)
            written_at = max(e.received for e in feed.events if e.event == "alert")
            reconnects = feed.reconnects
        engine.dispose()
    alert = guard_absent(AlertStore(direct_engine, "site", "box1"))
    assert alert is not None and alert.severity.value == "alarm"
    condition = alert.condition_started_at.timestamp()
    assert started <= condition < started + 1.5
    fired, escalated = alert.history[:2]
    assert (fired.kind.value, escalated.kind.value) == ("fired", "escalated")
    assert fired.at.timestamp() == pytest.approx(condition + WARN_S)
    assert escalated.at.timestamp() == pytest.approx(condition + ALARM_S)
    assert cut_at < fired.at.timestamp() < escalated.at.timestamp() < restored_at
    ids = [e.id for e in feed.events]
    assert ids == sorted(set(ids)), "feed ids repeat or go back"
    messages = [r.getMessage() for r in caplog.records]
    assert any("store unavailable" in m for m in messages), messages
    print(f"postgresql cut {restored_at - cut_at:.1f} s; both alert events on the feed "
          f"{written_at - restored_at:.1f} s after it returned; the page's stream reconnected {reconnects}x")
    direct_engine.dispose()
