"""guard_absent: someone held in the holding room while the guard post is empty (two levels)."""
from __future__ import annotations

from custodywatch.rules.room import RoomObservation
from custodywatch.rules.threshold import ThresholdRule
from custodywatch.vocabulary import Role, RuleId


class GuardAbsentRule(ThresholdRule):
    rule_id = RuleId.GUARD_ABSENT
    default_warn_after_s = 60.0
    default_alarm_after_s = 120.0
    default_clear_s = 0.0

    def holds(self, obs: RoomObservation) -> bool:
        return obs.count(Role.DETAINEE) >= 1 and obs.count(Role.GUARD) == 0
