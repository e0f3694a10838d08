"""guard_absent: someone held in the holding room while the guard post is empty (two levels)."""
from __future__ import annotations

from custodywatch.rules.room import RoomObservation
from custodywatch.rules.threshold import Level, ThresholdRule
from custodywatch.vocabulary import Role, RuleId, Severity


class GuardAbsentRule(ThresholdRule):
    rule_id = RuleId.GUARD_ABSENT
    default_levels = (Level(Severity.WARNING, 60.0), Level(Severity.ALARM, 120.0))

    def holds(self, obs: RoomObservation) -> bool:
        return obs.count(Role.DETAINEE) >= 1 and obs.count(Role.GUARD) == 0
