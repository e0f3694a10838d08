"""Custody clocks, overstay and unregistered_detention: hours of custody replayed in milliseconds."""
from __future__ import annotations

import pytest
from holding_room import holding_yaml

from custodywatch.config import CustodyConfig, RuleOverride, parse_config
from custodywatch.rules.custody import CustodyRecord, custody_levels, limit_s, presence_limit_s
from custodywatch.rules.engine import RuleEngine
from custodywatch.rules.overstay import CustodyClock
from custodywatch.rules.roles import RoleChange
from custodywatch.vocabulary import Role

H = 3600.0
CUSTODY = CustodyConfig()


def record(basis="questioning", extended=False, check_in=0.0, release=None, person="p1", room="hold-1"):
    return CustodyRecord(person, room, basis, extended, check_in, release)


@pytest.mark.parametrize(
    "rec, limit",
    [
        (record("questioning"), 8 * H),
        (record("summons"), 12 * H),
        (record("compelled_appearance"), 12 * H),
        (record("questioning", extended=True), 24 * H),
        (record("summons", extended=True), 24 * H),
    ],
)
def test_limit_follows_the_legal_basis(rec, limit):
    assert limit_s(rec, CUSTODY) == limit


def test_without_a_record_the_shortest_limit_applies():
    assert presence_limit_s(CUSTODY) == 8 * H


def test_warnings_come_2h_1h_and_30min_before_the_limit():
    levels = custody_levels(12 * H, CUSTODY)
    assert [(lv.severity.value, lv.after_s / H) for lv in levels] == [
        ("warning", 10), ("warning", 11), ("warning", 11.5), ("alarm", 12)]


def test_a_rooms_absolute_override_replaces_the_limit():
    levels = custody_levels(12 * H, CUSTODY, RuleOverride(warn_after_s=90, alarm_after_s=120))
    assert [(lv.severity.value, lv.after_s) for lv in levels] == [("warning", 90), ("alarm", 120)]


def clock_run(rec, levels, times):
    clock = CustodyClock(rec, levels)
    out = []
    for t in times:
        out += clock.step(t)
    return [(s.kind, s.severity.value, s.condition_started_at, s.at, s.subject) for s in out]


@pytest.mark.parametrize(
    "rec, times, expected",
    [
        # checked in 9 h before the video starts, summons (12 h): warnings at 10, 11, 11.5 h, alarm at 12 h
        (record("summons", check_in=-9 * H), [0, H, 2 * H, 3 * H, 4 * H],
         [("fired", "warning", -9 * H, H, "p1"), ("escalated", "warning", -9 * H, 2 * H, "p1"),
          ("escalated", "warning", -9 * H, 2.5 * H, "p1"), ("escalated", "alarm", -9 * H, 3 * H, "p1")]),
        # released after the first warning: ends at the release
        (record("questioning", release=6.5 * H), [t * 600.0 for t in range(60)],
         [("fired", "warning", 0, 6 * H, "p1"), ("ended", "warning", 0, 6.5 * H, "p1")]),
        # released before any warning: nothing at all
        (record("questioning", release=5 * H), [t * 600.0 for t in range(60)], []),
        # stepped once, long after: every level at its own time
        (record("questioning"), [30 * H],
         [("fired", "warning", 0, 6 * H, "p1"), ("escalated", "warning", 0, 7 * H, "p1"),
          ("escalated", "warning", 0, 7.5 * H, "p1"), ("escalated", "alarm", 0, 8 * H, "p1")]),
    ],
)
def test_custody_clock(rec, times, expected):
    assert clock_run(rec, custody_levels(limit_s(rec, CUSTODY), CUSTODY), times) == expected


CFG = holding_yaml("""
rooms:
  - id: hold-1
    type: holding
    rules:
      guard_absent: {enabled: false}
      overstay: {warn_after_s: 600, alarm_after_s: 900}
      unregistered_detention: {after_s: 120}
""")


def engine_run(records, changes, end, step=1.0):
    engine = RuleEngine(parse_config(CFG), new_id=iter(f"a{i}" for i in range(100)).__next__)
    engine.set_custody(records)
    engine.observe(changes)
    events = []
    t = 0.0
    while t <= end:
        events += engine.advance(t)
        t += step
    events += engine.finish(end)
    return sorted((e.at, e.kind, e.rule.value, e.severity.value, e.condition_started_at) for e in events)


def detainee(at, delta=1):
    return RoleChange("cam-h", Role.DETAINEE, delta, at)


def test_a_detainee_without_a_record_is_unregistered_and_clocked_from_presence():
    got = engine_run([], [detainee(10.0)], 1200)
    assert got == [
        (130.0, "fired", "unregistered_detention", "alarm", 10.0),
        (610.0, "fired", "overstay", "warning", 10.0),
        (910.0, "escalated", "overstay", "alarm", 10.0),
    ]


def test_with_a_record_the_clock_runs_from_check_in_and_nothing_is_unregistered():
    got = engine_run([record(check_in=-500.0)], [detainee(10.0)], 1200)
    assert got == [
        (100.0, "fired", "overstay", "warning", -500.0),
        (400.0, "escalated", "overstay", "alarm", -500.0),
    ]


def test_two_detainees_one_record_is_unregistered_detention():
    got = engine_run([record(check_in=0.0, release=None)], [detainee(5.0), detainee(50.0)], 300)
    assert got == [(170.0, "fired", "unregistered_detention", "alarm", 50.0)]


def test_a_record_entered_late_ends_the_unregistered_alert_when_it_is_known():
    engine = RuleEngine(parse_config(CFG))
    engine.observe([detainee(0.0)])
    events = []
    for t in range(0, 400):
        if t == 300:  # the desk books the detainee in at 300 s, with check-in at 250 s
            engine.set_custody([record(check_in=250.0)])
        events += engine.advance(float(t))
    got = [(e.kind, e.rule.value, e.at) for e in events if e.rule.value == "unregistered_detention"]
    assert got[0] == ("fired", "unregistered_detention", 120.0)
    kind, _, ended_at = got[1]
    # as soon as the record is known (on the settled timeline, a few seconds behind), not at check-in
    assert kind == "ended" and 290.0 <= ended_at <= 300.0
