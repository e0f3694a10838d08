"""The live analytics process restarted mid-condition on a real SQLite file: the alert keeps its times."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import zmq
from holding_detections import detainee_alone

from custodywatch.config import parse_config
from custodywatch.pipeline.analytics import AnalyticsService
from custodywatch.pipeline.messages import FrameDetections
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate
from custodywatch.store.rules_state import RulesStateStore
from custodywatch.vocabulary import Role

pytestmark = pytest.mark.slow

FPS = 4.0
CFG = parse_config("""
roles: {enter_s: 0.5, exit_s: 1}
rooms:
  - id: hold-1
    type: holding
    rules:
      guard_absent: {warn_after_s: 4, alarm_after_s: 30}
cameras:
  - id: cam-h
    room: hold-1
    detect_url: h.mp4
    fps: 4
    zones:
      detainee_area: [[0.6, 0.5], [1, 0.5], [1, 1], [0.6, 1]]
      guard_post: [[0, 0.5], [0.55, 0.5], [0.55, 1], [0, 1]]
""")


class Running:
    def __init__(self, db_url: str, endpoint: str):
        self.service = AnalyticsService(CFG, db_url, endpoint, "tcp://127.0.0.1:1")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.service.run, args=(self.stop,))
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def send_frames(push: zmq.Socket, until: float, index: int) -> int:
    while time.time() < until:
        push.send_pyobj(FrameDetections("cam-h", time.time(), index, (640, 360), detainee_alone()))
        index += 1
        time.sleep(1 / FPS)
    return index


def test_a_restart_mid_condition_keeps_the_alerts_times(tmp_path: Path):
    db_url = f"sqlite:///{tmp_path / 'custodywatch.db'}"
    db = make_engine(db_url)
    migrate(db)
    endpoint = f"ipc://{tmp_path / 'detections'}"
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 0)
    push.connect(endpoint)
    try:
        first = Running(db_url, endpoint)
        started = time.time()
        index = send_frames(push, started + 2.5, 0)  # guard absent from the start; warning due at ~4 s
        first.close()
        saved = RulesStateStore(db).load_state()
        assert {"engine", "camera/cam-h"} <= set(saved)
        rule = saved["engine"]["rooms"]["hold-1"]["rules"]["guard_absent/"]
        condition_start = rule["started_at"]
        assert condition_start is not None and started <= condition_start < started + 1.0
        second = Running(db_url, endpoint)
        send_frames(push, started + 9.0, index)
        second.close()
    finally:
        ctx.destroy(linger=0)
    (alert,) = AlertStore(db, "site", "box1").list().items
    assert alert.rule.value == "guard_absent" and alert.severity.value == "warning"
    assert alert.condition_started_at.timestamp() == pytest.approx(condition_start)
    assert alert.fired_at.timestamp() == pytest.approx(condition_start + 4.0)
    counts = RulesStateStore(db).room_counts("hold-1")
    assert [(c.counts[Role.DETAINEE], c.counts[Role.GUARD]) for c in counts] == [(1, 0)]
    db.dispose()
