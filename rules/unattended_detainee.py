"""unattended_detainee: a detainee in the interrogation seat with no officer in the room."""
from __future__ import annotations

from custodywatch.rules.room import RoomObservation
from custodywatch.rules.threshold import Level, ThresholdRule
from custodywatch.vocabulary import Role, RuleId, Severity


class UnattendedDetaineeRule(ThresholdRule):
    rule_id = RuleId.UNATTENDED_DETAINEE
    default_levels = (Level(Severity.ALARM, 30.0),)

    def holds(self, obs: RoomObservation) -> bool:
        return obs.count(Role.DETAINEE) >= 1 and obs.count(Role.OFFICER) == 0
