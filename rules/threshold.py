"""The state machine shared by every "condition held for N seconds" rule.

A rule is pure: it is stepped with a time and, when the room changed, a room observation; it never
reads a clock. A condition that holds for a level's threshold fires (first level) or escalates
(later levels) at exactly `condition start + threshold`; once fired, the alert ends when the
condition has stopped holding for `clear_s`, with the end time being when it stopped holding.
After an end, a new alert cannot fire before the cooldown has passed.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar, Literal

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


class ThresholdRule(ABC):
    rule_id: ClassVar[RuleId]
    # Thresholds and clearing time when the room's config does not override them.
    default_levels: ClassVar[tuple[Level, ...]]
    default_clear_s: ClassVar[float] = 0.0

    def __init__(self, levels: list[Level], clear_s: float = 0.0, cooldown_s: float = 0.0):
        if not levels or any(a.after_s >= b.after_s for a, b in pairwise(levels)):
            raise ValueError(f"{self.rule_id}: levels must be non-empty with rising thresholds")
        self.levels = levels
        self.clear_s = clear_s
        self.cooldown_s = cooldown_s
        self._holding = False
        self._started_at: float | None = None  # when the current (or pending) condition began
        self._fired = 0  # levels reached by the current alert
        self._clearing_since: float | None = None
        self._quiet_until = float("-inf")

    @abstractmethod
    def holds(self, obs: RoomObservation) -> bool:
        """Whether the rule's condition holds in this room observation."""

    @property
    def active(self) -> bool:
        return self._fired > 0

    def step(self, t: float, obs: RoomObservation | None = None) -> list[RuleSignal]:
        """Advance to time `t`; if `obs` is given, the room looks like `obs` from `t` on."""
        signals = self._advance(t)
        if obs is not None:
            self._apply(t, self.holds(obs))
            signals += self._advance(t)
        return signals

    def _apply(self, t: float, holds: bool) -> None:
        if holds and not self._holding:
            self._holding = True
            if self._clearing_since is not None:
                self._clearing_since = None  # came back before clearing: the same alert goes on
            else:
                self._started_at = t
        elif not holds and self._holding:
            self._holding = False
            if self._fired:
                self._clearing_since = t
            else:
                self._started_at = None  # a near miss: nothing to report

    def _advance(self, t: float) -> list[RuleSignal]:
        out: list[RuleSignal] = []
        start = self._started_at
        if start is None:
            return out
        if self._clearing_since is not None:
            if t - self._clearing_since >= self.clear_s:
                out.append(RuleSignal("ended", self.levels[self._fired - 1].severity, start,
                                      self._clearing_since))
                self._quiet_until = self._clearing_since + self.cooldown_s
                self._fired, self._started_at, self._clearing_since = 0, None, None
            return out
        while self._fired < len(self.levels):
            level = self.levels[self._fired]
            due = start + level.after_s
            if self._fired == 0:
                due = max(due, self._quiet_until)
            if due > t:
                break
            out.append(RuleSignal("fired" if self._fired == 0 else "escalated", level.severity, start, due))
            self._fired += 1
        return out
