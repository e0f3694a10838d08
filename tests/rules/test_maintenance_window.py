"""A maintenance window suppresses video_loss for its camera; at its end video_loss counts again."""
from __future__ import annotations

from holding_room import holding_config

from custodywatch.rules.engine import RuleEngine
from custodywatch.rules.maintenance import MaintenanceWindow
from custodywatch.rules.room import RoomObservation
from custodywatch.rules.threshold import Level
from custodywatch.rules.video_loss import VideoLossRule
from custodywatch.vocabulary import Severity

CFG = holding_config("""
rooms:
  - id: hold-1
    type: holding
    rules: {guard_absent: {enabled: false}, guard_asleep: {enabled: false}}
""")
DARK = {"cam-h": "no frames"}


Updates = dict[float, list[MaintenanceWindow]]


def video_loss_events(windows: list[MaintenanceWindow], end: float, frames_until: float = 10.0,
                      updates: Updates | None = None) -> list[tuple[object, ...]]:
    """The camera sends frames until `frames_until`, then none; the engine is stepped every 0.5 s."""
    engine = RuleEngine(CFG, new_id=lambda: "x")
    engine.expect_frames(0.0)
    engine.set_maintenance(windows)
    events = []
    t = 0.0
    while t <= end:
        if updates and t in updates:
            engine.set_maintenance(updates[t])
        if t < frames_until:
            engine.observe_view("cam-h", t, None)
        events += engine.advance(t)
        t += 0.5
    events += engine.finish(end)
    return [(e.kind, e.at, e.condition_started_at) for e in events if e.rule.value == "video_loss"]


def test_the_rule_holds_only_for_a_lost_camera_outside_maintenance() -> None:
    rule = VideoLossRule([Level(Severity.ALARM, 20.0)], camera="cam-h")
    signals = rule.step(0.0, RoomObservation(0.0, {}, lost=DARK, maintained=frozenset({"cam-h"})))
    signals += rule.step(100.0, RoomObservation(100.0, {}, lost=DARK))
    signals += rule.step(500.0)
    assert [(s.kind, s.condition_started_at, s.at) for s in signals] == [("fired", 100.0, 120.0)]


def test_without_a_window_a_dark_camera_alarms_after_20_s() -> None:
    # the last frame at 9.5 s, the next was due at 10: lost from 10 on
    assert video_loss_events([], 300.0) == [("fired", 30.0, 10.0)]


def test_a_window_suppresses_video_loss_and_its_end_counts_the_threshold_from_there() -> None:
    window = MaintenanceWindow(1, "cam-h", start=5.0, until=200.0, reason="lens cleaning")
    # dark from 10 s, serviced 5..200 s: nothing until the window ends, then 20 s from its end
    assert video_loss_events([window], 400.0) == [("fired", 220.0, 200.0)]


def test_a_camera_back_before_the_window_ends_raises_nothing() -> None:
    window = MaintenanceWindow(1, "cam-h", start=5.0, until=200.0)
    engine = RuleEngine(CFG, new_id=lambda: "x")
    engine.expect_frames(0.0)
    engine.set_maintenance([window])
    events = []
    t = 0.0
    while t <= 400.0:
        if not 10.0 <= t < 150.0:
            engine.observe_view("cam-h", t, None)
        events += engine.advance(t)
        t += 0.5
    assert [e for e in events if e.rule.value == "video_loss"] == []


def test_an_alert_active_when_a_window_opens_ends_at_its_start() -> None:
    window = MaintenanceWindow(1, "cam-h", start=100.0, until=300.0)
    assert video_loss_events([], 400.0, updates={60.0: [window]}) == [
        ("fired", 30.0, 10.0), ("ended", 100.0, 10.0), ("fired", 320.0, 300.0)]


def test_a_window_ended_early_restores_video_loss_from_the_early_end() -> None:
    window = MaintenanceWindow(1, "cam-h", start=5.0, until=3600.0)
    ended = MaintenanceWindow(1, "cam-h", start=5.0, until=3600.0, ended_at=150.0)
    assert video_loss_events([window], 400.0, updates={150.0: [ended]}) == [("fired", 170.0, 150.0)]


def test_a_window_of_another_camera_changes_nothing() -> None:
    window = MaintenanceWindow(1, "cam-other", start=5.0, until=200.0)
    assert video_loss_events([window], 300.0) == [("fired", 30.0, 10.0)]
