"""State survives restarts: stopping and restarting mid-condition changes no alert time."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import supervision as sv
from holding_room import holding_config

from custodywatch.config import Config
from custodywatch.pipeline.analytics import LiveRules
from custodywatch.pipeline.messages import FrameDetections
from custodywatch.rules.custody import CustodyRecord
from custodywatch.rules.engine import RuleEngine
from custodywatch.rules.events import AlertEvent
from custodywatch.rules.motion import MOTION_KEY
from custodywatch.store.alert_boxes import AlertBoxStore
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate
from custodywatch.store.rules_state import RulesStateStore
from custodywatch.vocabulary import Role

CFG = holding_config("""
rooms:
  - id: hold-1
    type: holding
    rules:
      guard_absent: {warn_after_s: 60, alarm_after_s: 120}
      guard_asleep: {warn_after_s: 90, alarm_after_s: 150}
      overstay: {warn_after_s: 200, alarm_after_s: 260}
      unregistered_detention: {after_s: 100}
""")
SIZE = (640, 360)
DETAINEE_BOX = [500, 150, 560, 330]
GUARD_BOX = [100, 150, 160, 330]
RECORDS = [CustodyRecord("p1", "hold-1", "summons", False, -150.0, None)]


def detections(t: float) -> sv.Detections:
    """The script: a detainee all along (a second, unbooked one from 20 s); the guard at the post
    until 30 s, away 30..100, back and motionless from 100 on."""
    boxes, motion = [DETAINEE_BOX], [0.0]
    if t >= 20:
        boxes.append([580, 150, 630, 330])
        motion.append(0.0)
    if t < 30 or t >= 100:
        boxes.append(GUARD_BOX)
        motion.append(0.2 if t < 30 else 0.0)
    n = len(boxes)
    return sv.Detections(xyxy=np.array(boxes, np.float32), confidence=np.full(n, 0.9, np.float32),
                         class_id=np.zeros(n, np.int64), data={MOTION_KEY: np.array(motion, np.float32)})


class Service:
    """The live analytics process's rules (LiveRules) on a real SQLite file, fed frames directly."""

    def __init__(self, cfg: Config, db_url: str, now: float):
        self.db = make_engine(db_url)
        migrate(self.db)
        state = RulesStateStore(self.db)
        for record in RECORDS:  # what the API writes when the desk books someone in
            state.put_custody(record)
        self.rules = LiveRules(cfg, AlertStore(self.db, "site", "box1", clock=lambda: 0.0), state, now,
                               boxes=AlertBoxStore(self.db))

    def frame(self, t: float, index: int) -> list[AlertEvent]:
        self.rules.frame(FrameDetections("cam-h", t, index, SIZE, detections(t)))
        return self.rules.tick(t)

    def stop(self) -> None:
        self.rules.save(references=True)
        self.db.dispose()


def run(tmp_path: Path, name: str, stop_at: float | None, down_s: float, end: float = 400.0,
        fps: float = 2.0) -> list[tuple[float, str, str, str, float, str]]:
    url = f"sqlite:///{tmp_path / name / 'custodywatch.db'}"
    service = Service(CFG, url, 0.0)
    events: list[AlertEvent] = []
    t = 0.0
    while t <= end:
        if stop_at is not None and t >= stop_at:
            service.stop()  # stopped here; restarted `down_s` later, nothing analysed meanwhile
            t += down_s
            service = Service(CFG, url, t)
            stop_at = None
        events += service.frame(t, int(t * fps))
        t += 1 / fps
    events += service.rules.engine.finish(end)
    service.stop()
    return sorted((e.at, e.kind, e.rule.value, e.severity.value, e.condition_started_at, e.alert_id)
                  for e in events)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[float, str, str, str, float, str]]:
    return run(tmp_path_factory.mktemp("once"), "once", None, 0.0)


def test_the_script_raises_every_kind_of_alert(uninterrupted):
    # ByteTrack confirms a track on its second frame: arrivals are seen 0.5 s after they happen
    assert [(at, kind, rule, sev, start) for at, kind, rule, sev, start, _ in uninterrupted] == [
        (50.0, "fired", "overstay", "warning", -150.0),  # the record's clock: 200 s after check-in
        (89.5, "fired", "guard_absent", "warning", 29.5),  # last seen at 29.5, away for 60 s
        (100.5, "ended", "guard_absent", "warning", 29.5),
        (110.0, "escalated", "overstay", "alarm", -150.0),
        (120.5, "fired", "unregistered_detention", "alarm", 20.5),  # two detainees, one record
        (190.5, "fired", "guard_asleep", "warning", 100.5),  # back at the post, motionless
        (220.5, "fired", "overstay", "warning", 20.5),  # the unbooked detainee's presence clock
        (250.5, "escalated", "guard_asleep", "alarm", 100.5),
        (280.5, "escalated", "overstay", "alarm", 20.5),
    ]


# Stopped while: the guard is away; just before the warning; the guard just back; the detainee
# unregistered; the guard asleep (warning given, alarm due).
@pytest.mark.parametrize("stop_at, down_s", [(40.0, 10.0), (88.0, 1.0), (101.0, 0.5), (115.0, 4.0),
                                             (200.0, 15.0)])
def test_a_restart_mid_condition_changes_no_alert_time(tmp_path, uninterrupted, stop_at, down_s):
    restarted = run(tmp_path, "restarted", stop_at, down_s)
    assert restarted == uninterrupted


def test_room_counts_are_stored_for_the_timeline(tmp_path):
    run(tmp_path, "counts", None, 0.0, end=120.0)
    db = make_engine(f"sqlite:///{tmp_path / 'counts' / 'custodywatch.db'}")
    store = RulesStateStore(db)
    got = [(c.at, c.counts[Role.DETAINEE], c.counts[Role.GUARD]) for c in store.room_counts("hold-1")]
    assert got == [(0.5, 1, 1), (20.5, 2, 1), (29.5, 2, 0), (100.5, 2, 1)]
    assert [c.at for c in store.room_counts("hold-1", since=25.0, until=70.0)] == [20.5, 29.5]
    db.dispose()


def test_an_alert_keeps_the_people_of_its_fire_time_frame_for_its_snapshot(tmp_path, uninterrupted):
    run(tmp_path, "boxes", None, 0.0, end=100.0)
    db = make_engine(f"sqlite:///{tmp_path / 'boxes' / 'custodywatch.db'}")
    absent = next(e for e in uninterrupted if e[2] == "guard_absent")
    seen = AlertBoxStore(db).get(absent[5])
    assert seen is not None and (seen.camera, seen.at) == ("cam-h", 89.5)  # the frame at the fire time
    w, h = SIZE
    # Both detainees, boxed where the detector saw them, as the holding room's zones made them;
    # the guard had left.
    boxes = sorted(seen.boxes, key=lambda b: b.x1)
    assert [(b.role, b.zone) for b in boxes] == [("detainee", "detainee_area")] * 2
    assert [(b.x1, b.y1, b.x2, b.y2) for b in boxes] == [
        pytest.approx((500 / w, 150 / h, 560 / w, 330 / h), abs=1e-4),
        pytest.approx((580 / w, 150 / h, 630 / w, 330 / h), abs=1e-4)]
    db.dispose()


def test_custody_records_round_trip(store_url):
    db = make_engine(store_url)  # on SQLite and PostgreSQL
    migrate(db)
    store = RulesStateStore(db)
    store.put_custody(CustodyRecord("p1", "hold-1", "summons", False, 100.0, None))
    store.put_custody(CustodyRecord("p2", "hold-1", "questioning", False, 200.0, 300.0))
    store.put_custody(CustodyRecord("p1", "hold-1", "summons", True, 100.0, None))  # extended
    assert store.custody_records() == [CustodyRecord("p1", "hold-1", "summons", True, 100.0, None),
                                       CustodyRecord("p2", "hold-1", "questioning", False, 200.0, 300.0)]
    assert [r.person for r in store.custody_records(open_since=301.0)] == ["p1"]
    db.dispose()


def test_a_replayed_event_names_the_same_alert(tmp_path):
    """Alert ids follow from the condition: a crash between storing an event and saving the state
    replays the event on restart, and the store recognises it."""
    a = RuleEngine(CFG)
    b = RuleEngine(CFG)
    for engine in (a, b):
        engine.set_custody(RECORDS)
    ea = [e for e in a.advance(60.0) if e.kind == "fired"]
    eb = [e for e in b.advance(60.0) if e.kind == "fired"]
    assert ea and [e.alert_id for e in ea] == [e.alert_id for e in eb]


def test_a_release_entered_at_the_desk_ends_the_overstay_alert(store_url):
    db = make_engine(store_url)  # on SQLite and PostgreSQL
    migrate(db)
    state = RulesStateStore(db)
    state.put_custody(CustodyRecord("p1", "hold-1", "summons", False, -150.0, None))
    rules = LiveRules(CFG, AlertStore(db, "site", "box1"), state, 0.0)
    events = [e for t in range(0, 60) for e in rules.tick(float(t))]
    # no camera sends a frame here: video_loss from when the first was due; the custody clock needs none
    assert [(e.kind, e.rule.value, e.at) for e in events] == [("fired", "video_loss", 20.5),
                                                              ("fired", "overstay", 50.0)]
    fired = [e for e in events if e.rule.value == "overstay"]
    state.put_custody(CustodyRecord("p1", "hold-1", "summons", False, -150.0, 58.0))  # released at 58 s
    ended = [e for t in range(60, 70) for e in rules.tick(float(t))]
    assert [(e.kind, e.rule.value, e.at, e.alert_id) for e in ended] == [
        ("ended", "overstay", 58.0, fired[0].alert_id)]
    (alert,) = AlertStore(db, "site", "box1").list(active=False).items
    assert alert.ended_at is not None and alert.ended_at.timestamp() == 58.0
    db.dispose()
