"""Request and response bodies of re-analysis jobs (the rules over stored footage)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from custodywatch.api.reanalysis import ReanalysisJob
from custodywatch.store.views import UtcDatetime


class ReanalysisRequest(BaseModel):
    camera: str = Field(min_length=1, max_length=32)
    start: UtcDatetime
    end: UtcDatetime


class ReanalysisView(BaseModel):
    id: str
    camera: str
    start: UtcDatetime
    end: UtcDatetime
    requested_by: str
    state: Literal["running", "done", "failed"]
    error: str | None = None
    origin: UtcDatetime | None = Field(None, description=(
        "The wall-clock time the alerts' seconds count from: the first recorded moment of the range."))
    alerts: list[dict[str, Any]] | None = Field(None, description=(
        "`custodywatch analyze`'s lines (rule, camera, room, severity, start_s, condition_start_s, end_s, "
        "id), once done."))

    @classmethod
    def of(cls, job: ReanalysisJob) -> ReanalysisView:
        def utc(t: float) -> datetime:
            return datetime.fromtimestamp(t, UTC)

        return cls(id=job.id, camera=job.camera, start=utc(job.start), end=utc(job.end),
                   requested_by=job.requested_by, state=job.state, error=job.error,  # type: ignore[arg-type]
                   origin=None if job.origin is None else utc(job.origin), alerts=job.alerts)
