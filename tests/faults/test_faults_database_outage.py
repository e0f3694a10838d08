"""Fault 7: the database locked (SQLite: another connection holds an exclusive lock past the busy
timeout) or unreachable for 30 s (PostgreSQL behind a TCP proxy that refuses): the alerts that fire
meanwhile are kept by the analytics process, written with their own times when the database
returns, and reach the watch desk's live feed once each.

The real analytics component runs the rules on detections sent over ZMQ, as the detector sends
them; the real API relays its alerts to a real SSE client."""
from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest
from faults_feed import AnalyticsThread, ApiThread, FeedClient, watch_desk_headers
from outage_scene import CFG, Camera, assert_warned_then_alarmed, guard_absent, pg_scene
from pg_scratch import ScratchDatabases
from tcp_proxy import TcpProxy

from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import BUSY_TIMEOUT_MS, make_engine, migrate

pytestmark = pytest.mark.slow


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
    # Its own times, inside the lock, not the time it could be written.
    assert_warned_then_alarmed(alert, started, locked_at, released_at)
    assert alert is not None
    assert heard.received >= released_at
    assert heard.data["alert"]["fired_at_epoch"] == alert.fired_at.timestamp()
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
    scene = pg_scene(pg_databases, tmp_path)
    with TcpProxy(scene.host, scene.port, mode="refuse") as proxy:
        # Both processes reach the database through the proxy, as both would lose a real link.
        db_url = scene.url_via(proxy.port)
        engine = make_engine(db_url)
        with ApiThread(engine, scene.events) as api, FeedClient(api.url, scene.headers) as feed, \
                AnalyticsThread(CFG, db_url, scene.detections, scene.events), Camera(scene.detections):
            started = time.time()
            time.sleep(1.0)
            proxy.cut()
            cut_at = time.time()
            time.sleep(30.0)  # warning and alarm both fall due in here
            assert guard_absent(AlertStore(scene.engine, "site", "box1")) is None
            proxy.restore()
            restored_at = time.time()
            feed.wait_for("the warning and the alarm on the feed",
                          lambda: [c[1] for c in feed.alert_changes()] == ["fired", "escalated"], 30)
            written_at = max(e.received for e in feed.events if e.event == "alert")
            reconnects = feed.reconnects
        engine.dispose()
    alert = guard_absent(AlertStore(scene.engine, "site", "box1"))
    assert_warned_then_alarmed(alert, started, cut_at, restored_at)
    ids = [e.id for e in feed.events]
    assert ids == sorted(set(ids)), "feed ids repeat or go back"
    messages = [r.getMessage() for r in caplog.records]
    assert any("store unavailable" in m for m in messages), messages
    print(f"postgresql cut {restored_at - cut_at:.1f} s; both alert events on the feed "
          f"{written_at - restored_at:.1f} s after it returned; the page's stream reconnected {reconnects}x")
    scene.engine.dispose()
