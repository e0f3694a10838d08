"""Rules that need sight are suspended while the room's video is lost: timers neither run nor reset."""
from __future__ import annotations

import pytest

from custodywatch.rules.guard_absent import GuardAbsentRule
from custodywatch.rules.overstay import OverstayRule
from custodywatch.rules.room import RoomObservation
from custodywatch.rules.threshold import Level
from custodywatch.rules.video_loss import VideoLossRule
from custodywatch.vocabulary import Role, Severity

D, G = Role.DETAINEE, Role.GUARD
LOST = {"cam": "lens covered"}


def run(rule, script, end):
    """script: [(t, counts, lost)]; returns [(kind, severity, condition_start, at)]."""
    out = []
    for t, counts, lost in script:
        out += rule.step(t, RoomObservation(t, counts, lost=LOST if lost else {}))
    out += rule.step(end)
    return [(s.kind, s.severity.value, s.condition_started_at, s.at) for s in out]


def guard_absent():
    return GuardAbsentRule([Level(Severity.WARNING, 60), Level(Severity.ALARM, 120)])


@pytest.mark.parametrize(
    "script, end, expected",
    [
        # guard leaves at 10; video lost 30..50: the warning comes 20 s late, the start stays 10
        ([(0, {D: 1, G: 1}, False), (10, {D: 1, G: 0}, False), (30, {D: 1, G: 0}, True),
          (50, {D: 1, G: 0}, False)], 1000,
         [("fired", "warning", 10, 90), ("escalated", "alarm", 10, 150)]),
        # what a blind camera reports (the guard "back") neither ends nor resets the condition
        ([(0, {D: 1, G: 1}, False), (10, {D: 1, G: 0}, False), (30, {D: 1, G: 0}, True),
          (35, {D: 1, G: 1}, True), (50, {D: 1, G: 0}, False)], 1000,
         [("fired", "warning", 10, 90), ("escalated", "alarm", 10, 150)]),
        # lost for the whole rest: nothing fires while blind
        ([(0, {D: 1, G: 1}, False), (10, {D: 1, G: 0}, False), (30, {D: 1, G: 0}, True)], 10_000, []),
        # the guard is back when the picture returns: a near miss
        ([(0, {D: 1, G: 1}, False), (10, {D: 1, G: 0}, False), (30, {D: 1, G: 0}, True),
          (50, {D: 1, G: 1}, False)], 1000, []),
        # lost after the alert fired: it neither ends nor escalates while blind
        ([(0, {D: 1, G: 0}, False), (100, {D: 1, G: 0}, True), (200, {D: 1, G: 1}, False)], 1000,
         [("fired", "warning", 0, 60), ("ended", "warning", 0, 200)]),
    ],
)
def test_guard_absent_is_suspended_while_blind(script, end, expected):
    assert run(guard_absent(), script, end) == expected


def test_video_loss_itself_is_never_suspended():
    rule = VideoLossRule([Level(Severity.ALARM, 20)], camera="cam")
    assert run(rule, [(0, {}, False), (5, {}, True), (40, {}, False)], 100) == [
        ("fired", "alarm", 5, 25), ("ended", "alarm", 5, 40)]


def test_a_lapse_shorter_than_the_gap_keeps_the_presence_clock():
    rule = OverstayRule([Level(Severity.WARNING, 100), Level(Severity.ALARM, 200)], clear_s=30, gap_s=30)
    script = [(0, {D: 1}, False), (50, {D: 0}, False), (70, {D: 1}, False)]  # out for 20 s < 30 s
    assert run(rule, script, 1000) == [("fired", "warning", 0, 100), ("escalated", "alarm", 0, 200)]
    rule = OverstayRule([Level(Severity.WARNING, 100), Level(Severity.ALARM, 200)], clear_s=30, gap_s=30)
    script = [(0, {D: 1}, False), (50, {D: 0}, False), (90, {D: 1}, False)]  # out for 40 s: a new clock
    assert run(rule, script, 1000) == [("fired", "warning", 90, 190), ("escalated", "alarm", 90, 290)]
