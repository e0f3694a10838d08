"""Rule state machines replayed on scripted role counts: hours run in milliseconds."""
from __future__ import annotations

import pytest

from custodywatch.config import parse_config
from custodywatch.rules.engine import RuleEngine
from custodywatch.rules.guard_absent import GuardAbsentRule
from custodywatch.rules.roles import RoleChange, RoleCounter
from custodywatch.rules.room import RoomObservation
from custodywatch.rules.single_officer import SingleOfficerRule
from custodywatch.rules.threshold import Level
from custodywatch.vocabulary import Role, Severity

D, O, G = Role.DETAINEE, Role.OFFICER, Role.GUARD  # noqa: E741 - role initials keep the tables readable


def run(rule, script, end):
    """script: [(t, {role: count})]; returns [(kind, severity, condition_start, at)]."""
    out = []
    for t, counts in script:
        out += rule.step(t, RoomObservation(t, counts))
    out += rule.step(end)
    return [(s.kind, s.severity.value, s.condition_started_at, s.at) for s in out]


def single(after=60.0, clear=10.0, cooldown=0.0):
    return SingleOfficerRule([Level(Severity.ALARM, after)], clear_s=clear, cooldown_s=cooldown)


@pytest.mark.parametrize(
    "script, end, expected",
    [
        # officer leaves at 100 and stays away: fires exactly 60 s later
        ([(0, {D: 1, O: 2}), (100, {D: 1, O: 1})], 1000, [("fired", "alarm", 100, 160)]),
        # away 59 s: a near miss, nothing
        ([(0, {D: 1, O: 2}), (100, {D: 1, O: 1}), (159, {D: 1, O: 2})], 1000, []),
        # comes back after 200 s: the alert ends when the second officer returned (after 10 s clear)
        ([(0, {D: 1, O: 2}), (100, {D: 1, O: 1}), (300, {D: 1, O: 2})], 1000,
         [("fired", "alarm", 100, 160), ("ended", "alarm", 100, 300)]),
        # back for only 5 s: the same alert goes on
        ([(0, {D: 1, O: 2}), (100, {D: 1, O: 1}), (300, {D: 1, O: 2}), (305, {D: 1, O: 1})], 1000,
         [("fired", "alarm", 100, 160)]),
        # no detainee in the seat: two officers or one, no alert
        ([(0, {D: 0, O: 1})], 1000, []),
        # time passes without any change: still fires at the threshold
        ([(0, {D: 1, O: 1})], 59.9, []),
    ],
)
def test_single_officer_timeline(script, end, expected):
    assert run(single(), script, end) == expected


def test_two_level_rule_escalates_then_ends_once():
    rule = GuardAbsentRule([Level(Severity.WARNING, 60), Level(Severity.ALARM, 120)])
    got = run(rule, [(0, {D: 1, G: 1}), (10, {D: 1, G: 0}), (500, {D: 1, G: 1})], 600)
    assert got == [("fired", "warning", 10, 70), ("escalated", "alarm", 10, 130), ("ended", "alarm", 10, 500)]


def test_cooldown_delays_a_new_alert_after_an_end():
    rule = single(after=10, clear=0, cooldown=60)
    got = run(rule, [(0, {D: 1, O: 1}), (20, {D: 1, O: 2}), (25, {D: 1, O: 1})], 200)
    assert got == [("fired", "alarm", 0, 10), ("ended", "alarm", 0, 20), ("fired", "alarm", 25, 80)]


def test_rule_rejects_falling_thresholds():
    with pytest.raises(ValueError):
        GuardAbsentRule([Level(Severity.WARNING, 120), Level(Severity.ALARM, 60)])


def feed(counter, frames):
    out = []
    for t, n in frames:
        out += counter.observe(t, {O: n})
    return [(c.delta, c.at) for c in out]


def test_roles_use_observed_times_for_arrival_and_departure():
    c = RoleCounter("cam", [O], enter_s=1.5, exit_s=5)
    frames = [(t / 2, 1) for t in range(0, 41)] + [(t / 2, 0) for t in range(41, 80)]
    # seen from 0 to 20 s: arrives at 0 (first sighting), leaves at 20 (last sighting)
    assert feed(c, frames) == [(1, 0.0), (-1, 20.0)]


def test_roles_ignore_a_flicker_shorter_than_the_hysteresis():
    c = RoleCounter("cam", [O], enter_s=1.5, exit_s=5)
    frames = [(t / 2, 0 if 20 <= t < 26 else 1) for t in range(0, 60)]  # missed for 3 s
    assert feed(c, frames) == [(1, 0.0)]
    c2 = RoleCounter("cam", [O], enter_s=1.5, exit_s=5)
    assert feed(c2, [(0, 0), (0.5, 1), (1.0, 0), (1.5, 0)]) == []  # a one-frame false positive


def test_two_people_count_by_level_not_by_track():
    c = RoleCounter("cam", [O], enter_s=1.5, exit_s=5)
    frames = [(t / 2, 2 if t < 40 else 1) for t in range(0, 80)]
    assert feed(c, frames) == [(1, 0.0), (1, 0.0), (-1, 19.5)]
    assert c.counts() == {O: 1}


CFG = """
rooms:
  - {id: int-1, type: interrogation, rules: {single_officer: {after_s: 20}}}
cameras:
  - id: cam-a
    room: int-1
    detect_url: a.mp4
    zones:
      detainee_seat: [[0.6, 0.5], [1, 0.5], [1, 1], [0.6, 1]]
      officer_area: [[0, 0.5], [0.55, 0.5], [0.55, 1], [0, 1]]
  - id: cam-b
    room: int-1
    detect_url: b.mp4
    zones:
      officer_area: [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]
"""


def test_engine_takes_the_maximum_over_a_rooms_cameras():
    cfg = parse_config(CFG)
    engine = RuleEngine(cfg, new_id=lambda: "a1")
    engine.observe([RoleChange("cam-a", D, 1, 0), RoleChange("cam-a", O, 1, 0), RoleChange("cam-b", O, 1, 0),
                    RoleChange("cam-b", O, 1, 0)])
    assert engine.advance(30) == []
    # cam-b loses one officer at 40, cam-a still sees one: the room has one officer from 40 on
    engine.observe([RoleChange("cam-b", O, -1, 40)])
    events = engine.advance(70)
    assert [(e.kind, e.rule.value, e.camera, e.condition_started_at, e.at) for e in events] == [
        ("fired", "single_officer", "cam-a", 40, 60)]
    engine.observe([RoleChange("cam-a", O, 1, 80)])
    ended = engine.finish(200)
    assert [(e.kind, e.alert_id, e.at) for e in ended] == [("ended", "a1", 80)]


def test_engine_waits_for_late_departures_before_deciding():
    cfg = parse_config(CFG)
    engine = RuleEngine(cfg)
    engine.observe([RoleChange("cam-a", D, 1, 0), RoleChange("cam-a", O, 1, 0), RoleChange("cam-a", O, 1, 0)])
    engine.advance(100)
    engine.observe([RoleChange("cam-a", O, -1, 101)])  # known at 106: an exit is confirmed 5 s late
    assert engine.advance(106) == []
    events = engine.advance(130)
    assert [(e.kind, e.condition_started_at, e.at) for e in events] == [("fired", 101, 121)]


@pytest.mark.parametrize(
    "rules_yaml, expected",
    [
        ("{}", {"single_officer": [60.0], "unattended_detainee": [30.0],
                "overstay": [21600.0, 25200.0, 27000.0, 28800.0], "unregistered_detention": [600.0],
                "video_loss": [20.0]}),
        ("{single_officer: {after_s: 20}, unattended_detainee: {enabled: false}, overstay: {enabled: false},"
         " unregistered_detention: {after_s: 60}, video_loss: {enabled: false}}",
         {"single_officer": [20.0], "unregistered_detention": [60.0]}),
    ],
)
def test_room_rules_take_defaults_and_overrides(rules_yaml, expected):
    from custodywatch.rules.catalog import build_rules

    cfg = parse_config(CFG.replace("rules: {single_officer: {after_s: 20}}", f"rules: {rules_yaml}"))
    got = {r.rule_id.value: [lv.after_s for lv in r.levels] for r in build_rules(cfg.rooms[0], ["cam-a"])}
    assert got == expected


def test_two_level_defaults_follow_a_later_warning():
    from custodywatch.config import RoomConfig
    from custodywatch.rules.catalog import build_rules

    room = RoomConfig.model_validate(
        {"id": "h", "type": "holding", "rules": {"guard_absent": {"warn_after_s": 300}}})
    (guard,) = [r for r in build_rules(room) if r.rule_id.value == "guard_absent"]
    assert [(lv.severity.value, lv.after_s) for lv in guard.levels] == [("warning", 300), ("alarm", 301)]
