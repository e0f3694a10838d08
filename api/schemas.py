"""Request and response bodies of the HTTP API that are not store views."""
from __future__ import annotations

from pydantic import BaseModel, Field, computed_field

from custodywatch.store.views import AlertChange, AlertState, AlertView, UtcDatetime
from custodywatch.vocabulary import RuleId, Severity


class AlertQuery(BaseModel):
    """Filters and paging for GET /api/alerts. Times are ISO-8601 or epoch seconds; they bound
    the fire time (`since` inclusive, `until` exclusive)."""

    room: str | None = None
    rule: RuleId | None = None
    severity: Severity | None = None
    state: AlertState | None = None
    active: bool | None = None
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0)


class ResolveRequest(BaseModel):
    comment: str = Field("", max_length=2000, description="Required while the alert is still active.")
    false_positive: bool = False


class ErrorBody(BaseModel):
    detail: str


class AlertUpdate(BaseModel):
    """The data of an `alert` server-sent event: what changed, and the alert as it is now."""

    change: AlertChange
    alert: AlertView


class CameraHealth(BaseModel):
    connected: bool
    fps_in: float = Field(ge=0)
    fps_analysed: float = Field(ge=0)
    dropped: int = Field(ge=0, description="Frames dropped since the reader started.")
    last_frame_at: UtcDatetime | None = None
    reconnects: int = Field(0, ge=0)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def last_frame_at_epoch(self) -> float | None:
        return None if self.last_frame_at is None else self.last_frame_at.timestamp()


class HealthReport(BaseModel):
    processes: dict[str, bool] = Field(description="Whether each service process is alive.")
    cameras: dict[str, CameraHealth] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def healthy(self) -> bool:
        return all(self.processes.values())
