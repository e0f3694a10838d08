"""Sample rule events and a settable clock for store tests."""
from __future__ import annotations

from custodywatch.rules.events import AlertEvent, EventKind
from custodywatch.vocabulary import RuleId, Severity

T0 = 1_700_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = T0 + 1000

    def __call__(self) -> float:
        return self.now


def alert_event(
    kind: EventKind,
    alert_id: str = "a1",
    *,
    at: float = T0 + 60,
    rule: RuleId = RuleId.SINGLE_OFFICER,
    room: str = "interrogation-1",
    camera: str = "cam-i1",
    severity: Severity = Severity.ALARM,
    started: float = T0,
    detail: str = "",
) -> AlertEvent:
    return AlertEvent(kind, alert_id, rule, room, camera, severity, started, at, detail)
