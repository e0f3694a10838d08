"""Ground truth from the script: role hysteresis on observed times, thresholds, custody."""
from __future__ import annotations

import pytest

from custodywatch.scenes.truth import (
    AlertSpec,
    CustodyRecord,
    Spell,
    alerts_from_spells,
    level_spells,
    overstay_spec,
    role_counts,
    rule_spec,
    spells_of,
)
from custodywatch.vocabulary import RuleId, Severity

TIMES = [i / 5 for i in range(200)]  # 40 s at 5 fps


def seen(*spans: tuple[float, float]) -> list[int]:
    return [int(any(a <= t < b for a, b in spans)) for t in TIMES]


@pytest.mark.parametrize(("raw", "want"), [
    # Seen from 0 to 10 s, then gone for good: present from the first to the last sighting.
    (seen((0, 10)), [Spell(0.0, 9.8)]),
    # A gap of 3 s (under exit_s 5) is bridged: one stay.
    (seen((0, 10), (13, 40)), [Spell(0.0, None)]),
    # A gap of 8 s is a departure at the last sighting and an arrival at the next first one.
    (seen((0, 10), (18, 40)), [Spell(0.0, 9.8), Spell(18.0, None)]),
    # Seen for 1 s only (under enter_s 1.5): never in.
    (seen((20, 21)), []),
    # Last seen 3 s before the footage ends: still there.
    (seen((5, 37)), [Spell(5.0, None)]),
])
def test_a_level_is_in_and_out_on_observed_times(raw: list[int], want: list[Spell]) -> None:
    assert level_spells(raw, TIMES, 1, enter_s=1.5, exit_s=5.0) == want


def test_counts_add_levels_and_drop_at_the_last_sighting() -> None:
    raw = [2 if t < 10 else 1 for t in TIMES]
    counts = role_counts(raw, TIMES, 1.5, 5.0)
    assert counts[TIMES.index(9.6)] == 2 and counts[TIMES.index(9.8)] == 1 and counts[-1] == 1


def test_condition_spells_start_when_it_first_holds_and_end_when_it_first_does_not() -> None:
    holds = [10 <= t < 20 for t in TIMES]
    assert spells_of(holds, TIMES) == [Spell(10.0, 20.0)]
    assert spells_of([t >= 30 for t in TIMES], TIMES) == [Spell(30.0, None)]


TWO_LEVELS = AlertSpec(RuleId.GUARD_ABSENT, "holding-1", "cam-h1",
                       ((Severity.WARNING, 10.0), (Severity.ALARM, 20.0)), clear_s=0.0)


@pytest.mark.parametrize(("spell", "want"), [
    (Spell(5.0, None), [("warning", 15.0), ("alarm", 25.0)]),
    (Spell(5.0, 21.0), [("warning", 15.0)]),  # ended between the levels
    (Spell(5.0, 12.0), []),  # a near miss
])
def test_each_level_fires_at_its_threshold(spell: Spell, want: list[tuple[str, float]]) -> None:
    alerts = alerts_from_spells(TWO_LEVELS, [spell], footage_end=39.8)
    assert [(a.severity.value, a.start_s) for a in alerts] == want
    assert all(a.condition_start_s == spell.start and a.end_s == spell.end for a in alerts)


@pytest.mark.parametrize("spell", [Spell(5.0, 16.0), Spell(5.0, 14.5), Spell(25.0, None)])
def test_a_script_ending_too_close_to_a_threshold_is_refused(spell: Spell) -> None:
    # 16.0 and 14.5 end within 2 s of the warning (15 s); 25 + 10 = 35 s is too near 36 s.
    with pytest.raises(ValueError, match="decisive"):
        alerts_from_spells(TWO_LEVELS, [spell], footage_end=36.0)


def test_a_fired_alert_that_comes_back_within_clear_s_is_the_same_alert() -> None:
    spec = AlertSpec(RuleId.SINGLE_OFFICER, "i", "c", ((Severity.ALARM, 10.0),), clear_s=10.0)
    alerts = alerts_from_spells(spec, [Spell(0.0, 20.0), Spell(25.0, 30.0)], footage_end=60.0)
    assert [(a.start_s, a.condition_start_s, a.end_s) for a in alerts] == [(10.0, 0.0, 30.0)]


def test_defaults_come_from_design_and_overrides_replace_them() -> None:
    default = rule_spec(RuleId.GUARD_ASLEEP, {}, "h", "c")
    assert default is not None and default.levels == ((Severity.WARNING, 180.0), (Severity.ALARM, 600.0))
    short = rule_spec(RuleId.VIDEO_LOSS, {RuleId.VIDEO_LOSS: {"after_s": 5.0}}, "h", "c")
    assert short is not None and short.levels == ((Severity.ALARM, 5.0),)
    assert rule_spec(RuleId.VIDEO_LOSS, {RuleId.VIDEO_LOSS: {"enabled": False}}, "h", "c") is None


def test_overstay_counts_from_check_in_by_legal_basis_or_override() -> None:
    record = CustodyRecord("p", "h", "questioning", check_in=-20.0)
    by_law = overstay_spec({}, "h", "c", record)
    assert by_law is not None
    assert by_law.levels[-1] == (Severity.ALARM, 8 * 3600.0)
    assert [s for s, _ in by_law.levels] == ["warning"] * 3 + ["alarm"]
    extended = overstay_spec({}, "h", "c", CustodyRecord("p", "h", "summons", -20.0, extended=True))
    assert extended is not None and extended.levels[-1] == (Severity.ALARM, 24 * 3600.0)
    short_limit = {RuleId.OVERSTAY: {"warn_after_s": 30.0, "alarm_after_s": 45.0}}
    override = overstay_spec(short_limit, "h", "c", record)
    assert override is not None
    alerts = alerts_from_spells(override, [Spell(record.check_in, None)], footage_end=40.0)
    assert [(a.severity.value, a.start_s, a.condition_start_s) for a in alerts] == [
        ("warning", 10.0, -20.0), ("alarm", 25.0, -20.0)]


def test_a_record_is_open_from_check_in_until_release() -> None:
    record = CustodyRecord("p", "h", "summons", check_in=-5.0, release=15.0)
    assert [record.open_at(t) for t in (-6.0, -5.0, 14.9, 15.0)] == [False, True, True, False]
