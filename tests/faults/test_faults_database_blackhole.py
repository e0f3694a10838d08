"""Fault 7, PostgreSQL on a black-holed link: for 30 s the link carries nothing either way (open
connections stay open and silent, new ones are accepted and never answered), as when a switch or
a cable between the box and the database dies, instead of the refusing link of
test_faults_database_outage.py. The warning and the alarm that fall due meanwhile are written with
their own times once the link heals, and reach the watch desk's live feed once each.

What the local proxy cannot show: its kernel acknowledges what both ends send during the stall, and
answers their keepalive probes, so the keepalives and tcp_user_timeout that make_engine sets
(a dead real link breaks a connection in about 30 s) never fire here; every blocked call simply
waits for the heal. What is tested is that the box rides out a hung link and loses nothing.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from pathlib import Path

import httpx
import pytest
from faults_feed import AnalyticsThread, ApiThread, FeedClient
from outage_scene import CFG, Camera, assert_warned_then_alarmed, guard_absent, pg_scene
from pg_scratch import ScratchDatabases
from tcp_proxy import TcpProxy

from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine

pytestmark = pytest.mark.slow

STALL_S = 30.0
# Measured 0.1–1.0 s after the heal (five runs); the rest is room for a loaded two-core machine.
ON_FEED_WITHIN_S = 60.0
PROJECT = str(Path(__file__).resolve().parents[2])


def where_blocked(thread: threading.Thread) -> str:
    """The innermost frames of `thread` in the project, for the report of a hang."""
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return "not running"
    stack = traceback.extract_stack(frame)
    ours = [f for f in stack
            if f.filename.startswith(PROJECT) and not ("/tests/" in f.filename or "/.venv/" in f.filename)]
    shown = [stack[-1], *reversed(ours[-3:])]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in shown)


def test_postgresql_black_holed_for_30_s_keeps_the_alerts_and_writes_them_once_it_heals(
    tmp_path: Path, pg_databases: ScratchDatabases, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="custodywatch.analytics")
    scene = pg_scene(pg_databases, tmp_path)
    with TcpProxy(scene.host, scene.port) as proxy:
        # Both processes reach the database through the proxy, as both would lose a real link.
        db_url = scene.url_via(proxy.port)
        engine = make_engine(db_url)
        with ApiThread(engine, scene.events) as api, FeedClient(api.url, scene.headers) as feed, \
                AnalyticsThread(CFG, db_url, scene.detections, scene.events) as analytics, \
                Camera(scene.detections):
            started = time.time()
            time.sleep(1.0)
            proxy.stall()
            stalled_at = time.time()
            health_answers: list[tuple[int, float]] = []
            blocked_in = ""
            while time.time() < stalled_at + STALL_S:  # warning and alarm both fall due in here
                asked = time.monotonic()
                response = httpx.get(f"{api.url}/healthz", timeout=10)
                health_answers.append((response.status_code, time.monotonic() - asked))
                if not blocked_in and time.time() > stalled_at + STALL_S / 2:
                    blocked_in = where_blocked(analytics.thread)
                time.sleep(max(0.0, min(1.0, stalled_at + STALL_S - time.time())))
            stored = guard_absent(AlertStore(scene.engine, "site", "box1"))
            assert stored is None, "written through a dead link"
            assert feed.alert_changes() == [], "pushed through a dead link"
            proxy.restore()
            restored_at = time.time()
            feed.wait_for("the warning and the alarm on the feed",
                          lambda: [c[1] for c in feed.alert_changes()] == ["fired", "escalated"],
                          ON_FEED_WITHIN_S)
            written_at = max(e.received for e in feed.events if e.event == "alert")
            reconnects = feed.reconnects
        engine.dispose()
    # The API needs no database to say it is alive: a hung link must not hang it.
    assert health_answers and all(status == 200 for status, _ in health_answers), health_answers
    alert = guard_absent(AlertStore(scene.engine, "site", "box1"))
    # Its own times, inside the stall, not the times it could be written.
    assert_warned_then_alarmed(alert, started, stalled_at, restored_at)
    assert alert is not None
    assert feed.alert_changes() == [(alert.id, "fired"), (alert.id, "escalated")]
    ids = [e.id for e in feed.events]
    assert ids == sorted(set(ids)), "feed ids repeat or go back"
    messages = [r.getMessage() for r in caplog.records]
    slowest = max(took for _, took in health_answers)
    print(f"postgresql black-holed {restored_at - stalled_at:.1f} s; both alert events on the feed "
          f"{written_at - restored_at:.1f} s after it healed; the page's stream reconnected {reconnects}x; "
          f"/healthz answered {len(health_answers)}x, slowest {slowest:.2f} s; "
          f"analytics mid-stall in {blocked_in}; analytics log: {messages}")
    scene.engine.dispose()
