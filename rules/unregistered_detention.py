"""unregistered_detention: more detainees in a room than open custody records for it.

Everyone held must be booked in; a detainee seen without a record for 600 s (by default) alarms.
"""
from __future__ import annotations

from custodywatch.rules.room import RoomObservation
from custodywatch.rules.threshold import Level, ThresholdRule
from custodywatch.vocabulary import Role, RuleId, Severity


class UnregisteredDetentionRule(ThresholdRule):
    rule_id = RuleId.UNREGISTERED_DETENTION
    default_levels = (Level(Severity.ALARM, 600.0),)

    def holds(self, obs: RoomObservation) -> bool:
        return obs.count(Role.DETAINEE) > obs.registered

    @staticmethod
    def describe(obs: RoomObservation) -> str:
        return f"{obs.count(Role.DETAINEE)} detainees seen, {obs.registered} open custody records"
