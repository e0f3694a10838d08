"""single_officer: a detainee in the interrogation seat with exactly one officer present.

The law requires at least two interrogators; a short absence is tolerated for `after_s`.
"""
from __future__ import annotations

from custodywatch.rules.room import RoomObservation
from custodywatch.rules.threshold import Level, ThresholdRule
from custodywatch.vocabulary import Role, RuleId, Severity


class SingleOfficerRule(ThresholdRule):
    rule_id = RuleId.SINGLE_OFFICER
    default_levels = (Level(Severity.ALARM, 60.0),)
    default_clear_s = 10.0

    def holds(self, obs: RoomObservation) -> bool:
        return obs.count(Role.DETAINEE) >= 1 and obs.count(Role.OFFICER) == 1
