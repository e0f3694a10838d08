"""Builds a room's rules from the config: each rule's defaults, overridden per room."""
from __future__ import annotations

from custodywatch.config import RoomConfig, RuleOverride
from custodywatch.rules.guard_absent import GuardAbsentRule
from custodywatch.rules.single_officer import SingleOfficerRule
from custodywatch.rules.threshold import Level, ThresholdRule
from custodywatch.rules.unattended_detainee import UnattendedDetaineeRule
from custodywatch.vocabulary import ROOM_RULES, RuleId

DEFAULT_COOLDOWN_S = 30.0

RULES: dict[RuleId, type[ThresholdRule]] = {
    cls.rule_id: cls for cls in (SingleOfficerRule, UnattendedDetaineeRule, GuardAbsentRule)
}


def _levels(cls: type[ThresholdRule], o: RuleOverride) -> list[Level]:
    defaults = cls.default_levels
    if len(defaults) == 1:
        (level,) = defaults
        return [Level(level.severity, o.after_s if o.after_s is not None else level.after_s)]
    warn, alarm = defaults
    warn_s = o.warn_after_s if o.warn_after_s is not None else warn.after_s
    # A warning override past the default alarm moves the alarm after it.
    alarm_s = o.alarm_after_s if o.alarm_after_s is not None else max(alarm.after_s, warn_s + 1)
    return [Level(warn.severity, warn_s), Level(alarm.severity, alarm_s)]


def build_rules(room: RoomConfig) -> list[ThresholdRule]:
    """The enabled rules of a room that this build implements, configured for it."""
    rules: list[ThresholdRule] = []
    for rule_id in ROOM_RULES[room.type]:
        cls = RULES.get(rule_id)
        o = room.rules.get(rule_id, RuleOverride())
        if cls is None or not o.enabled:
            continue
        rules.append(cls(_levels(cls, o),
                         clear_s=o.clear_s if o.clear_s is not None else cls.default_clear_s,
                         cooldown_s=o.cooldown_s if o.cooldown_s is not None else DEFAULT_COOLDOWN_S))
    return rules
