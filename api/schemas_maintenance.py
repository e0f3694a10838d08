"""Request and response bodies of cameras' maintenance windows."""
from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from custodywatch.rules.maintenance import MaintenanceWindow
from custodywatch.store.views import UtcDatetime


class MaintenanceStart(BaseModel):
    camera: str = Field(min_length=1, max_length=32)
    until: UtcDatetime = Field(description="When the servicing is planned to end; video_loss counts "
                                           "again then.")
    reason: str = Field(min_length=1, max_length=500)
    start: UtcDatetime | None = Field(None, description="When it begins; now if left out.")


class MaintenanceView(BaseModel):
    id: int
    camera: str
    reason: str
    started_by: str
    start: UtcDatetime
    until: UtcDatetime
    ended_at: UtcDatetime | None
    ended_by: str | None
    end: UtcDatetime = Field(description="When it stops (stopped) covering the camera: until, or ended_at.")
    open: bool = Field(description="Whether it covers the camera now or will.")

    @classmethod
    def of(cls, w: MaintenanceWindow, now: float) -> MaintenanceView:
        def utc(t: float) -> datetime:
            return datetime.fromtimestamp(t, UTC)

        return cls(id=w.id, camera=w.camera, reason=w.reason, started_by=w.started_by, start=utc(w.start),
                   until=utc(w.until), ended_at=None if w.ended_at is None else utc(w.ended_at),
                   ended_by=w.ended_by, end=utc(w.end), open=w.open_at(now))
