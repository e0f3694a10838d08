"""The fault tests' holding room: a detainee alone (the guard post empty) on one camera at 4 fps,
sent over ZMQ as the detector sends it, with guard_absent thresholds short enough for a test."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import zmq
from faults_feed import watch_desk_headers
from holding_detections import detainee_alone
from pg_scratch import ScratchDatabases, server_url
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from custodywatch.config import parse_config
from custodywatch.pipeline.messages import FrameDetections
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate
from custodywatch.store.views import AlertView

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


@dataclass
class PgScene:
    """A migrated scratch PostgreSQL database with a watch-desk account, and the scene's endpoints."""

    name: str
    host: str
    port: int
    engine: Engine  # straight to the server: what the test itself reads, past any cut link
    headers: dict[str, str]
    detections: str
    events: str

    def url_via(self, port: int) -> str:
        return server_url(self.name, "127.0.0.1", port)


def pg_scene(pg_databases: ScratchDatabases, tmp_path: Path) -> PgScene:
    name = pg_databases.create()
    direct = make_url(server_url(name))
    engine = make_engine(direct.render_as_string(hide_password=False))
    migrate(engine)
    return PgScene(name, direct.host or "127.0.0.1", direct.port or 5432, engine, watch_desk_headers(engine),
                   f"ipc://{tmp_path / 'detections'}", f"ipc://{tmp_path / 'events'}")


def assert_warned_then_alarmed(alert: AlertView | None, started: float, after: float, before: float) -> None:
    """The guard_absent alert as stored: its condition began as the scene started, its warning and
    alarm carry their own times (WARN_S and ALARM_S later), and both fell due in (after, before)."""
    assert alert is not None and alert.severity.value == "alarm"
    condition = alert.condition_started_at.timestamp()
    assert started <= condition < started + 1.5
    assert alert.fired_at.timestamp() == pytest.approx(condition + WARN_S)
    assert [(h.kind.value, h.at.timestamp() - condition) for h in alert.history] == pytest.approx(
        [("fired", WARN_S), ("escalated", ALARM_S)])
    assert after < alert.history[0].at.timestamp() < alert.history[1].at.timestamp() < before
