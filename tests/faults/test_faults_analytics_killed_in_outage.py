"""Fault 7, the worst case: analytics is killed (SIGKILL) while PostgreSQL is unreachable and it
holds alert events the store could not take. The supervisor restarts it; the restarted process
waits for the store instead of crashing, takes the events from its spool on the box's disk, and
writes them with their own times when the database returns; the watch desk hears each once.

Real processes: the analytics component under the real supervisor, the real API with its feed
journal in a thread, an SSE client, PostgreSQL behind a TCP proxy that refuses connections.
Meanwhile the page is told the store cannot be written and that two alert events wait."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from faults_feed import ApiThread, FeedClient, FeedEvent
from outage_scene import ALARM_S, CFG, Camera, assert_warned_then_alarmed, guard_absent, pg_scene
from pg_scratch import ScratchDatabases
from tcp_proxy import TcpProxy

from custodywatch.pipeline.analytics import SPOOL_NAME, AnalyticsService
from custodywatch.pipeline.supervisor import RestartPolicy, Supervisor
from custodywatch.store.alerts import AlertStore
from custodywatch.store.rules_state import RulesStateStore

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]


def spooled_kinds(spool: Path) -> list[str]:
    try:
        return [json.loads(line)["kind"] for line in spool.read_text().splitlines()]
    except (OSError, ValueError):
        return []  # not there yet, or being replaced


def store_waiting(event: FeedEvent) -> tuple[bool, int] | None:
    """(reachable, alert events waiting) of a health event that reports the store."""
    store = event.data.get("store") if event.event == "health" else None
    return None if store is None else (store["reachable"], store["alert_events_waiting"])


def wait(what: str, condition, timeout_s: float) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout_s, f"{what} not within {timeout_s} s"
        time.sleep(0.1)
    return time.monotonic() - started


def test_analytics_killed_while_the_database_is_down_loses_no_alert(
    tmp_path: Path, pg_databases: ScratchDatabases, capfd: pytest.CaptureFixture[str]
) -> None:
    scene = pg_scene(pg_databases, tmp_path)
    engine, headers, detections, events = scene.engine, scene.headers, scene.detections, scene.events
    spool = tmp_path / "spool" / SPOOL_NAME
    with TcpProxy(scene.host, scene.port, mode="refuse") as link:
        # Only analytics' link fails: the page's side stays up to show what arrives, and when.
        analytics = AnalyticsService(CFG, scene.url_via(link.port), detections, events,
                                     spool_dir=str(spool.parent))
        supervisor = Supervisor([analytics], RestartPolicy(backoff_start_s=0.2), check_s=0.1)
        with ApiThread(engine, events) as api, FeedClient(api.url, headers) as feed:
            supervisor.start()
            try:
                child = supervisor.children[0]
                # Running once it has saved its rules' state (it does every few seconds).
                wait("analytics running", lambda: RulesStateStore(engine).load_state(), 90)
                with Camera(detections):
                    started = time.time()
                    time.sleep(1.0)
                    link.cut()
                    cut_at = time.time()
                    # The warning and its alarm fall due in the outage and wait in the spool.
                    wait("both alert events in the spool",
                         lambda: spooled_kinds(spool) == ["fired", "escalated"], ALARM_S + 20)
                assert guard_absent(api.store) is None
                # The watch desk hears that alerts wait, though none can reach it yet.
                feed.wait_for("the store's outage on the page", lambda: any(
                    store_waiting(e) == (False, 2) and e.data["severity"] == "alarm"
                    for e in feed.events), 15)
                pid = child.pid
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
                killed_at = time.time()
                wait("analytics restarted", lambda: child.pid != pid and child.alive(), 30)
                # The new run finds the store still down, and waits for it (however long a loaded
                # machine takes to start it).
                logs = ""

                def said_store_down() -> bool:
                    nonlocal logs
                    logs += capfd.readouterr().err
                    return "store not answering at start" in logs

                wait("the new run finding the store down", said_store_down, 60)
                assert supervisor.alive()["analytics"], "analytics gave up on a store that is down"
                # The successor reports what its spool holds.
                healthz = httpx.get(f"{api.url}/healthz", timeout=10).json()
                assert healthz["store"]["reachable"] is False, healthz
                assert healthz["store"]["alert_events_waiting"] == 2, healthz
                assert healthz["severity"] == "alarm"
                link.restore()
                restored_at = time.time()
                feed.wait_for("the warning and the alarm on the feed",
                              lambda: [c[1] for c in feed.alert_changes()] == ["fired", "escalated"], 60)
                on_feed = max(e.received for e in feed.events if e.event == "alert")
                wait("the spool emptied", lambda: not spool.exists(), 10)
                time.sleep(2.0)  # anything repeated would arrive now
                feed.wait_for("the store back on the page",
                              lambda: any(store_waiting(e) == (True, 0) for e in feed.events), 20)
                changes = feed.alert_changes()
                ids = [e.id for e in feed.events]
            finally:
                supervisor.stop()
    alert = guard_absent(AlertStore(engine, "site", "box1"))
    # Their own times, from the run that was killed, not the time they could be written.
    assert_warned_then_alarmed(alert, started, cut_at, killed_at)
    assert alert is not None
    assert changes == [(alert.id, "fired"), (alert.id, "escalated")], "an alert event lost or repeated"
    assert ids == sorted(set(ids))
    logs += capfd.readouterr().err
    assert "alert events kept by the last run are queued" in logs, logs[-3000:]
    print(f"analytics killed {killed_at - cut_at:.1f} s into the outage; database back "
          f"{restored_at - killed_at:.1f} s after the kill; both alert events on the feed "
          f"{on_feed - restored_at:.1f} s after it returned")
    engine.dispose()
