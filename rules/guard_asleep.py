"""guard_asleep: the guard at the post has not moved (and, with a pose model, is not sitting up).

Stillness comes from motion energy inside the guard's box (motion.py, stillness.py); a guard
reading or typing moves enough to count as awake.
"""
from __future__ import annotations

from custodywatch.rules.room import RoomObservation
from custodywatch.rules.threshold import Level, ThresholdRule
from custodywatch.vocabulary import Role, RuleId, Severity


class GuardAsleepRule(ThresholdRule):
    rule_id = RuleId.GUARD_ASLEEP
    default_levels = (Level(Severity.WARNING, 180.0), Level(Severity.ALARM, 600.0))

    def holds(self, obs: RoomObservation) -> bool:
        return obs.count(Role.GUARD) >= 1 and obs.guard_still is True

    @staticmethod
    def describe(obs: RoomObservation) -> str:
        return f"{obs.count(Role.GUARD)} at the guard post, motionless"
