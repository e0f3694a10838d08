"""unattended_detainee: a detainee in the interrogation seat with no officer in the room."""
from __future__ import annotations

from custodywatch.rules.room import RoomObservation
from custodywatch.rules.threshold import ThresholdRule
from custodywatch.vocabulary import Role, RuleId


class UnattendedDetaineeRule(ThresholdRule):
    rule_id = RuleId.UNATTENDED_DETAINEE
    default_after_s = 30.0
    default_clear_s = 0.0

    def holds(self, obs: RoomObservation) -> bool:
        return obs.count(Role.DETAINEE) >= 1 and obs.count(Role.OFFICER) == 0
