"""The box's own health as /healthz and the page show it (custodywatch/box_health.py judges it)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from custodywatch.box_health import BoxSample, CheckStatus
from custodywatch.store.views import UtcDatetime
from custodywatch.vocabulary import Severity


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


class BoxCheck(BaseModel):
    check: str = Field(description="disk_free (GB), days_left, cpu (%), memory (%), clock_offset (s), "
                                   "camera_drift/<camera> (s).")
    severity: Severity = Field(description="The level it raises when past its limit.")
    value: float | None = Field(description="None: cannot be known on this box now.")
    limit: float
    over: bool | None = Field(description="Past its limit in the latest sample (None: unknown).")
    raised: bool = Field(description="Past its limit for the configured time: the box reports it.")
    raised_at: UtcDatetime | None = None

    @classmethod
    def of(cls, status: CheckStatus) -> BoxCheck:
        r = status.reading
        return cls(check=r.check, severity=r.severity, value=r.value, limit=r.limit, over=r.over,
                   raised=status.raised,
                   raised_at=None if status.raised_at is None else _utc(status.raised_at))


class BoxHealthReport(BaseModel):
    sampled_at: UtcDatetime
    disk_free_bytes: int
    disk_total_bytes: int
    archive_write_bytes_per_s: float | None = Field(description="None until the archive has an index.")
    days_left: float | None = Field(description="Of archive at the current write rate; None when not "
                                                "writing.")
    cpu_percent: float
    memory_percent: float
    clock_source: str | None = Field(description="chrony or timedatectl; None: no time source could be "
                                                 "asked.")
    clock_offset_s: float | None = Field(description="Box clock minus its time source's (chrony only).")
    clock_synchronized: bool | None
    camera_drift_s: dict[str, float | None] = Field(
        description="Each camera's stream clock ahead of the box's since its connection settled.")
    checks: list[BoxCheck]
    severity: Literal["ok", "warning", "alarm"] = Field(description="The worst raised check's level.")

    @classmethod
    def of(cls, sample: BoxSample, statuses: list[CheckStatus],
           severity: Literal["ok", "warning", "alarm"]) -> BoxHealthReport:
        return cls(sampled_at=_utc(sample.at), disk_free_bytes=sample.disk_free_bytes,
                   disk_total_bytes=sample.disk_total_bytes,
                   archive_write_bytes_per_s=sample.write_bytes_per_s,
                   days_left=sample.days_left, cpu_percent=sample.cpu_percent,
                   memory_percent=sample.memory_percent, clock_source=sample.clock.source,
                   clock_offset_s=sample.clock.offset_s, clock_synchronized=sample.clock.synchronized,
                   camera_drift_s=dict(sample.camera_drift_s), checks=[BoxCheck.of(s) for s in statuses],
                   severity=severity)

    def raised(self) -> list[str]:
        return [c.check for c in self.checks if c.raised]
