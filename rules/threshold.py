"""The state machine shared by every "condition held for N seconds" rule.

A rule is pure: it is stepped with a time and, when the room changed, a room observation; it never
reads a clock. A condition that holds for a level's threshold fires (first level) or escalates
(later levels) at exactly `condition start + threshold`; once fired, the alert ends when the
condition has stopped holding for `clear_s`, with the end time being when it stopped holding.
After an end, a new alert cannot fire before the cooldown has passed.

Before it fires, a condition that lapses for less than `gap_s` goes on with its first start (a
detainee taken to the toilet is still in custody); with the default 0 any lapse is a near miss.

While the room's video is lost a rule that needs sight is *suspended*: its timers neither run nor
reset, and what the blind cameras report is not taken as the truth. The time spent suspended is
added to its thresholds, so the reported condition start stays the one seen in the footage.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any, ClassVar, Literal

from custodywatch.rules.room import RoomObservation
from custodywatch.vocabulary import RuleId, Severity


@dataclass(frozen=True)
class Level:
    severity: Severity
    after_s: float


@dataclass(frozen=True)
class RuleSignal:
    kind: Literal["fired", "escalated", "ended"]
    severity: Severity
    condition_started_at: float
    at: float
    subject: str = ""  # what the alert is about within its room and rule (a custody record's person)
    detail: str = ""


@dataclass
class ThresholdState:
    """Everything a ThresholdRule remembers, so a restarted service goes on where it stopped."""

    holding: bool = False
    started_at: float | None = None
    fired: int = 0
    lapsed_since: float | None = None
    quiet_until: float | None = None  # None: no cooldown pending (JSON has no -inf)
    suspended_since: float | None = None
    paused_s: float = 0.0  # suspended time inside the current condition, before it lapsed
    lapse_paused_s: float = 0.0  # suspended time inside the current lapse
    trigger: str = ""  # the room as it was when the condition began, for the alert's detail

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ThresholdState:
        return cls(**d)


class ThresholdRule(ABC):
    rule_id: ClassVar[RuleId]
    # Thresholds and clearing time when the room's config does not override them.
    default_levels: ClassVar[tuple[Level, ...]]
    default_clear_s: ClassVar[float] = 0.0
    # Whether the rule is suspended while the room's video is lost.
    needs_sight: ClassVar[bool] = True

    def __init__(self, levels: list[Level], clear_s: float = 0.0, cooldown_s: float = 0.0,
                 gap_s: float = 0.0):
        if not levels or any(a.after_s >= b.after_s for a, b in pairwise(levels)):
            raise ValueError(f"{self.rule_id}: levels must be non-empty with rising thresholds")
        self.levels = levels
        self.clear_s = clear_s
        self.cooldown_s = cooldown_s
        self.gap_s = gap_s
        self.subject = ""
        self.s = ThresholdState()

    @abstractmethod
    def holds(self, obs: RoomObservation) -> bool:
        """Whether the rule's condition holds in this room observation."""

    def detail(self) -> str:
        """A line for the watch desk: by default the room as it was when the condition began."""
        return self.s.trigger

    @staticmethod
    def describe(obs: RoomObservation) -> str:
        return ", ".join(f"{role.value} {n}" for role, n in obs.counts.items())

    @property
    def active(self) -> bool:
        return self.s.fired > 0

    @property
    def suspended(self) -> bool:
        return self.s.suspended_since is not None

    def step(self, t: float, obs: RoomObservation | None = None) -> list[RuleSignal]:
        """Advance to time `t`; if `obs` is given, the room looks like `obs` from `t` on."""
        signals = self._advance(t)
        if obs is not None and self.needs_sight:
            if obs.blind and not self.suspended:
                self.s.suspended_since = t
            elif not obs.blind and self.suspended:
                self._resume(t)
        if obs is not None and not self.suspended:
            self._apply(t, self.holds(obs))
            if self.s.holding and self.s.started_at == t and self.s.lapsed_since is None:
                self.s.trigger = self.describe(obs)
            signals += self._advance(t)
        return signals

    def _resume(self, t: float) -> None:
        s = self.s
        assert s.suspended_since is not None
        paused = t - s.suspended_since
        s.suspended_since = None
        if s.lapsed_since is not None:
            s.lapse_paused_s += paused
        elif s.started_at is not None:
            s.paused_s += paused

    def _apply(self, t: float, holds: bool) -> None:
        s = self.s
        if holds and not s.holding:
            s.holding = True
            if s.lapsed_since is not None:
                s.lapsed_since, s.lapse_paused_s = None, 0.0  # back before it cleared: the same one
            else:
                s.started_at, s.paused_s = t, 0.0
        elif not holds and s.holding:
            s.holding = False
            s.lapsed_since, s.lapse_paused_s = t, 0.0

    def _advance(self, t: float) -> list[RuleSignal]:
        out: list[RuleSignal] = []
        s = self.s
        if s.suspended_since is not None:
            t = min(t, s.suspended_since)  # time stands still for a suspended rule
        start = s.started_at
        if start is None:
            return out
        if s.lapsed_since is not None:
            window = self.clear_s if s.fired else self.gap_s
            if t - s.lapsed_since - s.lapse_paused_s >= window:
                if s.fired:
                    severity = self.levels[s.fired - 1].severity
                    out.append(self._signal("ended", severity, start, s.lapsed_since))
                    s.quiet_until = s.lapsed_since + self.cooldown_s
                s.fired, s.started_at, s.lapsed_since = 0, None, None
                s.paused_s = s.lapse_paused_s = 0.0
            return out
        while s.fired < len(self.levels):
            level = self.levels[s.fired]
            due = start + level.after_s + s.paused_s
            if s.fired == 0 and s.quiet_until is not None:
                due = max(due, s.quiet_until)
            if due > t:
                break
            out.append(self._signal("fired" if s.fired == 0 else "escalated", level.severity, start, due))
            s.fired += 1
        return out

    def _signal(self, kind: Literal["fired", "escalated", "ended"], severity: Severity, start: float,
                at: float) -> RuleSignal:
        return RuleSignal(kind, severity, start, at, self.subject, self.detail())
