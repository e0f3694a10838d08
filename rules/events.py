"""What the rule engine tells the rest of the box: alert lifecycle events."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from custodywatch.vocabulary import RuleId, Severity

EventKind = Literal["fired", "escalated", "ended"]


@dataclass(frozen=True)
class AlertEvent:
    """One change of an alert's condition.

    Times are seconds on the box's one clock: wall-clock epoch seconds in the live service,
    seconds of stream time in `analyze`. `at` is when this event happened: the fire time for
    "fired" (condition_started_at + threshold), the escalation time, or the time the condition
    stopped holding for "ended".
    """

    kind: EventKind
    alert_id: str
    rule: RuleId
    room: str
    camera: str
    severity: Severity
    condition_started_at: float
    at: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rule"] = self.rule.value
        d["severity"] = self.severity.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AlertEvent:
        return cls(**{**d, "rule": RuleId(d["rule"]), "severity": Severity(d["severity"])})
