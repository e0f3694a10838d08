"""overstay: someone held longer than the law allows; warnings before the limit, the alarm at it.

With a custody record the clock runs from the record's check-in to its release (`CustodyClock`,
one per record, not dependent on the cameras). For detainees without one (more detainees in the
room than open records), it runs from their continuous presence (`OverstayRule`): a detainee out
of sight for less than its `gap_s` (300 s by default: taken to the toilet, hidden behind someone)
is still the same custody.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from custodywatch.rules.custody import CustodyRecord
from custodywatch.rules.room import RoomObservation
from custodywatch.rules.threshold import Level, RuleSignal, ThresholdRule
from custodywatch.vocabulary import Role, RuleId, Severity

PRESENCE_GAP_S = 300.0


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h"


class OverstayRule(ThresholdRule):
    """Custody clock from continuous presence, while a room holds more detainees than records."""

    rule_id = RuleId.OVERSTAY
    # Built from the custody config (catalog.py); these are the law's questioning limits.
    default_levels = (Level(Severity.WARNING, 21600.0), Level(Severity.WARNING, 25200.0),
                      Level(Severity.WARNING, 27000.0), Level(Severity.ALARM, 28800.0))
    default_clear_s = PRESENCE_GAP_S

    def holds(self, obs: RoomObservation) -> bool:
        return obs.count(Role.DETAINEE) > obs.registered

    def detail(self) -> str:
        return f"no custody record: held since first seen, limit {_hours(self.levels[-1].after_s)}"


@dataclass
class _ClockState:
    fired: int = 0
    ended: bool = False


class CustodyClock:
    """One custody record's clock: pure, stepped with the time."""

    rule_id = RuleId.OVERSTAY

    def __init__(self, record: CustodyRecord, levels: list[Level]):
        self.record = record
        self.levels = levels
        self.s = _ClockState()

    @property
    def subject(self) -> str:
        return self.record.person

    def update(self, record: CustodyRecord, levels: list[Level]) -> None:
        """The record changed (released, extended); levels already reached stay reached."""
        self.record = record
        self.levels = levels
        self.s.fired = min(self.s.fired, len(levels))

    def step(self, t: float) -> list[RuleSignal]:
        out: list[RuleSignal] = []
        r, s = self.record, self.s
        if s.ended:
            return out
        stop = r.release if r.release is not None else float("inf")
        while s.fired < len(self.levels):
            due = r.check_in + self.levels[s.fired].after_s
            if due > t or due >= stop:
                break
            level = self.levels[s.fired]
            out.append(RuleSignal("fired" if s.fired == 0 else "escalated", level.severity, r.check_in, due,
                                  r.person, self._detail()))
            s.fired += 1
        if r.release is not None and t >= r.release:
            if s.fired:
                severity = self.levels[s.fired - 1].severity
                out.append(RuleSignal("ended", severity, r.check_in, r.release, r.person, self._detail()))
            s.ended = True
        return out

    def _detail(self) -> str:
        r = self.record
        basis = r.legal_basis + (", extended" if r.extended else "")
        return f"{r.person} ({basis}): limit {_hours(self.levels[-1].after_s)}"

    def state(self) -> dict[str, Any]:
        return {"record": self.record.to_dict(), **asdict(self.s)}

    def load_state(self, d: dict[str, Any]) -> None:
        self.s = _ClockState(fired=int(d["fired"]), ended=bool(d["ended"]))
