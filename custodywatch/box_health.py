"""The box's own health, judged against the config's thresholds (`health:`): a pure state machine.

Fed one `BoxSample` at a time (the sampler's figures, with the time they were taken), it raises a
check once its figure has stayed past the threshold for `breach_after_s` and clears it as soon as
the figure is back within. A figure that cannot be known (no time source to ask, a camera whose
clock has not settled yet) neither raises nor clears anything: it is reported as unknown.

These are not rule alerts (the alert store holds the catalog's rules only): a raised check makes
the box's health report `warning` or `alarm`, which /healthz, /metrics and the page's live feed carry.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from custodywatch.config import HealthConfig
from custodywatch.vocabulary import Severity

GB = 1e9
DAY_S = 86400.0


@dataclass(frozen=True)
class ClockStatus:
    """The box clock against its time source: `source` is what answered (chrony, timedatectl) or
    None when nothing could be asked; `offset_s` is signed (positive: the box is ahead)."""

    source: str | None = None
    offset_s: float | None = None
    synchronized: bool | None = None


@dataclass(frozen=True)
class BoxSample:
    at: float
    disk_free_bytes: int
    disk_total_bytes: int
    write_bytes_per_s: float | None  # the archive's growth; None until it can be measured
    cpu_percent: float
    memory_percent: float
    clock: ClockStatus = field(default_factory=ClockStatus)
    camera_drift_s: Mapping[str, float | None] = field(default_factory=dict)

    @property
    def days_left(self) -> float | None:
        """Days until the archive's disk is full at the current write rate (None: not writing, or
        the rate is not known yet). Retention deleting old footage is not counted."""
        if self.write_bytes_per_s is None or self.write_bytes_per_s <= 0:
            return None
        return self.disk_free_bytes / self.write_bytes_per_s / DAY_S


@dataclass(frozen=True)
class Reading:
    """One check of one sample: its figure, its limit, and whether it is past it (None: unknown)."""

    check: str
    severity: Severity
    value: float | None
    limit: float
    over: bool | None


def _below(check: str, severity: Severity, value: float | None, limit: float) -> Reading:
    return Reading(check, severity, value, limit, None if value is None else value < limit)


def _above(check: str, severity: Severity, value: float | None, limit: float) -> Reading:
    return Reading(check, severity, value, limit, None if value is None else value > limit)


def readings(sample: BoxSample, cfg: HealthConfig) -> list[Reading]:
    clock = sample.clock
    offset = None if clock.offset_s is None else abs(clock.offset_s)
    clock_over: bool | None
    if clock.synchronized is False:
        clock_over = True  # not synchronised: its offset cannot be trusted, whatever it says
    elif offset is not None:
        clock_over = offset > cfg.max_clock_offset_s
    else:
        clock_over = None
    out = [
        # A full disk stops the recording, which must be continuous: an alarm. The rest warn.
        _below("disk_free", Severity.ALARM, sample.disk_free_bytes / GB, cfg.min_disk_free_gb),
        _below("days_left", Severity.WARNING, sample.days_left, cfg.min_days_left),
        _above("cpu", Severity.WARNING, sample.cpu_percent, cfg.max_cpu_percent),
        _above("memory", Severity.WARNING, sample.memory_percent, cfg.max_memory_percent),
        Reading("clock_offset", Severity.WARNING, offset, cfg.max_clock_offset_s, clock_over),
    ]
    for camera, drift in sorted(sample.camera_drift_s.items()):
        out.append(_above(f"camera_drift/{camera}", Severity.WARNING, None if drift is None else abs(drift),
                          cfg.max_camera_drift_s))
    return out


@dataclass(frozen=True)
class BoxHealthChange:
    kind: Literal["raised", "cleared"]
    check: str
    severity: Severity
    at: float
    value: float | None
    limit: float


@dataclass
class _CheckState:
    over_since: float | None = None
    raised_at: float | None = None


@dataclass(frozen=True)
class CheckStatus:
    """A check as it stands after the latest sample."""

    reading: Reading
    raised_at: float | None  # None: not raised

    @property
    def raised(self) -> bool:
        return self.raised_at is not None


class BoxHealthRules:
    def __init__(self, cfg: HealthConfig):
        self.cfg = cfg
        self._states: dict[str, _CheckState] = {}
        self._latest: list[Reading] = []

    def step(self, sample: BoxSample) -> list[BoxHealthChange]:
        changes: list[BoxHealthChange] = []
        self._latest = readings(sample, self.cfg)
        t = sample.at
        for r in self._latest:
            s = self._states.setdefault(r.check, _CheckState())
            if r.over is True:
                if s.over_since is None:
                    s.over_since = t
                if s.raised_at is None and t - s.over_since >= self.cfg.breach_after_s:
                    s.raised_at = t
                    changes.append(BoxHealthChange("raised", r.check, r.severity, t, r.value, r.limit))
            elif r.over is False:
                s.over_since = None
                if s.raised_at is not None:
                    s.raised_at = None
                    changes.append(BoxHealthChange("cleared", r.check, r.severity, t, r.value, r.limit))
        return changes

    def statuses(self) -> list[CheckStatus]:
        return [CheckStatus(r, self._states[r.check].raised_at) for r in self._latest]

    def severity(self) -> Literal["ok", "warning", "alarm"]:
        raised = [s.reading.severity for s in self.statuses() if s.raised]
        if Severity.ALARM in raised:
            return "alarm"
        return "warning" if raised else "ok"
