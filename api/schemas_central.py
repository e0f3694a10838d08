"""Response bodies of the centre's own routes (/api/central/...)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class CentralBody(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class CentralBoxView(CentralBody):
    """A box as the centre sees it: configured (clips can be fetched) and/or reporting in."""

    site_id: str
    box_id: str
    configured: bool
    url: str | None = None
    last_seq: int | None = None  # the last outbox row taken from the box
    forwarded_at_epoch: float | None = None  # when it last reported in
    seconds_since_report: float | None = None


class CentralCustodyView(CentralBody):
    site_id: str
    box_id: str
    person: str
    room: str
    legal_basis: str
    extended: bool
    check_in: float
    release: float | None
    updated_at: float


class CentralCameraHealthView(CentralBody):
    site_id: str
    box_id: str
    camera: str
    connected: bool
    fps_in: float
    fps_analysed: float
    dropped: int
    reconnects: int
    last_frame_at: float | None
    reported_at: float  # by the box's clock
    seconds_since_report: float
    # Reported longer ago than the threshold asked for: the box may have lost cameras since, and
    # while it cannot reach the centre the centre cannot know.
    stale: bool
