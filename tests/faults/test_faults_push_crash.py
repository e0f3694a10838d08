"""Fault 5: the API process (the service's main process) killed during a push. The alert change
was committed by the analytics process but never pushed; after a restart the watch desk's feed
gets it, once, and a page that resumes with Last-Event-ID gets nothing twice. The children of the
killed process stop rather than linger as orphans.

Everything is real: the RTSP test server serves a camera whose lens is covered for a while, the
whole service runs as `custodywatch run`, and the page's event stream is read over HTTP."""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest
import yaml
from faults_feed import FeedClient
from faults_service import ServiceProcess, free_port, kill_left_over, write_camera
from service_process import add_user

from custodywatch.rtsp_server import RtspLoopServer
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine
from custodywatch.store.feed import FeedJournal

pytestmark = pytest.mark.slow

USER, PASSWORD = "desk", "fault five watch desk password"
LOSS_AFTER_S = 4
SEEN_S, DARK_S = 10, 16
ORPHAN_LIMIT_S = 15.0


def login(base: str) -> dict[str, str]:
    response = httpx.post(f"{base}/api/auth/login", json={"username": USER, "password": PASSWORD}, timeout=10)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def wait(what: str, condition: Callable[[], bool], timeout_s: float, service: ServiceProcess) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {timeout_s} s:\n{service.tail()}")
        time.sleep(0.2)


def running(processes: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def test_api_killed_during_a_push_delivers_the_change_after_restart_exactly_once(tmp_path: Path) -> None:
    video = write_camera(tmp_path / "cam.mp4", [("seen", SEEN_S), ("dark", DARK_S)])
    data = tmp_path / "data"
    env = dict(os.environ, CUSTODYWATCH_DATA=str(data))
    add_user(env, USER, PASSWORD)
    port = free_port()
    log = tmp_path / "service.log"
    with RtspLoopServer({"cam-c1": video}) as rtsp:
        config = tmp_path / "cameras.yaml"
        config.write_text(yaml.safe_dump({
            "site": {"id": "test", "box_id": "box1"},
            "rooms": [{"id": "corridor-1", "type": "corridor",
                       "rules": {"video_loss": {"after_s": LOSS_AFTER_S, "cooldown_s": 0}}}],
            "cameras": [{"id": "cam-c1", "room": "corridor-1", "detect_url": rtsp.url("cam-c1"), "fps": 2}],
        }))
        first = ServiceProcess(config, env, port, log)
        children: list[psutil.Process] = []
        second: ServiceProcess | None = None
        try:
            base = first.wait_ready()
            headers = login(base)
            with FeedClient(base, headers) as feed:
                wait("video_loss fired on the feed",
                     lambda: any(c == "fired" for _, c in feed.alert_changes()), 90, first)
                alert_id = feed.alert_changes()[0][0]
                children = first.children()
                assert len(children) >= 4, children  # recorder, analytics, detector(s), reader

                # The API freezes; the analytics process goes on, ends the alert when the picture
                # returns, commits that and pushes it to an API that never reads it.
                os.kill(first.proc.pid, signal.SIGSTOP)
                engine = make_engine(f"sqlite:///{data / 'custodywatch.db'}")
                store = AlertStore(engine, "test", "box1")
                wait("the alert's end committed", lambda: store.get(alert_id).ended_at is not None,
                     DARK_S + SEEN_S + 20, first)
                os.kill(first.proc.pid, signal.SIGKILL)
                first.proc.wait(10)
                killed_at = time.monotonic()
                assert (alert_id, "ended") not in feed.alert_changes()
                assert [q.alert_id for q in FeedJournal(engine, "box1").queued()] == [alert_id]

                while running(children) and time.monotonic() - killed_at < ORPHAN_LIMIT_S:
                    time.sleep(0.2)
                orphans_gone_s = time.monotonic() - killed_at
                assert running(children) == [], f"orphans of the killed service: {running(children)}"

                second = ServiceProcess(config, env, port, log)
                second.wait_ready()
                restarted_at = time.monotonic()
                wait("the alert's end on the feed after the restart",
                     lambda: (alert_id, "ended") in feed.alert_changes(), 30, second)
                delivered_s = time.monotonic() - restarted_at
                time.sleep(3)  # a duplicate would come with the first push or the next poll
                changes = feed.alert_changes()
                ids = [e.id for e in feed.events]
                resumed = feed.reconnects
            with FeedClient(base, headers) as fresh:
                fresh.wait_for("a new page's first event", lambda: bool(fresh.events), 10)
                first_of_fresh = fresh.events[0]
            queued_after = FeedJournal(engine, "box1").queued()
            engine.dispose()
        finally:
            for service in (first, second):
                if service is not None:
                    kill_left_over(running(service.children()))
                    service.stop()
            kill_left_over(running(children))
    assert resumed >= 1  # the page lost its stream with the killed process and resumed
    assert changes.count((alert_id, "fired")) == 1
    assert changes.count((alert_id, "ended")) == 1
    assert changes.index((alert_id, "fired")) < changes.index((alert_id, "ended"))
    assert ids == sorted(set(ids)), f"feed ids repeat or go back: {ids}"
    assert queued_after == []
    # A page that has seen nothing starts from the alert list, numbered after what was pushed.
    assert first_of_fresh.event == "reset" and first_of_fresh.id >= max(ids)
    print(f"children gone {orphans_gone_s:.1f} s after the kill; the committed change reached the feed "
          f"{delivered_s:.1f} s after the restart was ready")
