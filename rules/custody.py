"""Custody records and the limits the law sets on them.

A record says who is held where, on what legal basis, since when and (once released) until when.
The limit comes from the legal basis through `custody.limits_s` in the config (questioning 8 h;
summons and compelled appearance 12 h; 24 h once extended); `custody.warn_before_s` sets the
warnings before it. Times are seconds on the box's one clock (stream seconds in `analyze`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from custodywatch.config import CustodyConfig, RuleOverride
from custodywatch.rules.threshold import Level
from custodywatch.vocabulary import Severity

EXTENDED = "extended"


@dataclass(frozen=True)
class CustodyRecord:
    person: str
    room: str
    legal_basis: str
    extended: bool
    check_in: float
    release: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CustodyRecord:
        return cls(**d)


def legal_bases(custody: CustodyConfig) -> list[str]:
    return sorted(k for k in custody.limits_s if k != EXTENDED)


def limit_s(record: CustodyRecord, custody: CustodyConfig) -> float:
    """How long the record's person may be held."""
    if record.extended and EXTENDED in custody.limits_s:
        return float(custody.limits_s[EXTENDED])
    return float(custody.limits_s[record.legal_basis])


def presence_limit_s(custody: CustodyConfig) -> float:
    """The limit for someone held without a record: the shortest one, since the basis is unknown."""
    bases = legal_bases(custody)
    return float(min(custody.limits_s[b] for b in bases)) if bases else float(min(custody.limits_s.values()))


def custody_levels(limit: float, custody: CustodyConfig, override: RuleOverride | None = None) -> list[Level]:
    """Warnings before the limit, the alarm at it; a room's warn_after_s/alarm_after_s replace both.

    Times are seconds from the start of custody.
    """
    if override is not None and (override.warn_after_s is not None or override.alarm_after_s is not None):
        alarm = override.alarm_after_s if override.alarm_after_s is not None else limit
        warn = override.warn_after_s
        levels = [Level(Severity.WARNING, warn)] if warn is not None and warn < alarm else []
        return levels + [Level(Severity.ALARM, alarm)]
    warnings = sorted({limit - w for w in custody.warn_before_s if 0 < limit - w < limit})
    return [Level(Severity.WARNING, w) for w in warnings] + [Level(Severity.ALARM, limit)]
