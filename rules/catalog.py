"""Builds a room's rules from the config: defaults per rule, overridden per room."""
from __future__ import annotations

from custodywatch.config import RoomConfig, RuleOverride
from custodywatch.rules.guard_absent import GuardAbsentRule
from custodywatch.rules.single_officer import SingleOfficerRule
from custodywatch.rules.threshold import Level, ThresholdRule
from custodywatch.rules.unattended_detainee import UnattendedDetaineeRule
from custodywatch.vocabulary import ROOM_RULES, RuleId, Severity

DEFAULT_COOLDOWN_S = 30.0


def _single_level(cls: type[SingleOfficerRule] | type[UnattendedDetaineeRule],
                  o: RuleOverride) -> ThresholdRule:
    after = o.after_s if o.after_s is not None else cls.default_after_s
    return cls([Level(Severity.ALARM, after)],
               clear_s=o.clear_s if o.clear_s is not None else cls.default_clear_s,
               cooldown_s=o.cooldown_s if o.cooldown_s is not None else DEFAULT_COOLDOWN_S)


def _guard_absent(o: RuleOverride) -> ThresholdRule:
    cls = GuardAbsentRule
    warn = o.warn_after_s if o.warn_after_s is not None else cls.default_warn_after_s
    alarm = o.alarm_after_s if o.alarm_after_s is not None else max(cls.default_alarm_after_s, warn + 1)
    return cls([Level(Severity.WARNING, warn), Level(Severity.ALARM, alarm)],
               clear_s=o.clear_s if o.clear_s is not None else cls.default_clear_s,
               cooldown_s=o.cooldown_s if o.cooldown_s is not None else DEFAULT_COOLDOWN_S)


def build_rules(room: RoomConfig) -> list[ThresholdRule]:
    """The enabled rules of a room that this build implements, configured for it."""
    rules: list[ThresholdRule] = []
    for rule_id in ROOM_RULES[room.type]:
        o = room.rules.get(rule_id, RuleOverride())
        if not o.enabled:
            continue
        if rule_id is RuleId.SINGLE_OFFICER:
            rules.append(_single_level(SingleOfficerRule, o))
        elif rule_id is RuleId.UNATTENDED_DETAINEE:
            rules.append(_single_level(UnattendedDetaineeRule, o))
        elif rule_id is RuleId.GUARD_ABSENT:
            rules.append(_guard_absent(o))
    return rules
