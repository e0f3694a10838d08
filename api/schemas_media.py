"""Request and response bodies of recordings, legal holds and evidence exports."""
from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from custodywatch.store.views import UtcDatetime

CAMERA_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"


class Span(BaseModel):
    start: UtcDatetime
    end: UtcDatetime
    start_epoch: float
    end_epoch: float


class Gap(Span):
    cause: str = Field(description="Why nothing was recorded: camera offline, recorder stopped, ...")


class Timeline(BaseModel):
    """What was recorded of one camera in a range: the recorded spans and the gaps between them."""

    camera: str
    segments: list[Span]
    gaps: list[Gap]


class HoldRequest(BaseModel):
    """A range on cameras; or a custody record (its room's cameras, check-in to release, an open
    record up to now); or an alert (its room's cameras, with the recorder's pre- and post-roll)."""

    cameras: list[str] = Field(default_factory=list, max_length=64,
                               description="Cameras the hold protects; empty: every camera.")
    start: UtcDatetime | None = Field(None, description="Required unless custody_id or alert_id is given.")
    end: UtcDatetime | None = Field(None, description="Required unless custody_id or alert_id is given.")
    reason: str = Field(min_length=1, max_length=2000)
    alert_id: str | None = Field(None, max_length=128)
    custody_id: str | None = Field(None, min_length=1, max_length=64,
                                   description="A custody record's number, or a person with one record.")


class HoldRelease(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class HoldOut(BaseModel):
    id: str
    cameras: list[str]
    start: UtcDatetime
    end: UtcDatetime
    reason: str
    alert_id: str | None
    custody_id: str | None
    created_by: str
    created_at: UtcDatetime
    released_by: str | None
    released_at: UtcDatetime | None
    release_reason: str | None
    active: bool


class ExportRequest(BaseModel):
    cameras: list[str] = Field(min_length=1, max_length=64)
    start: UtcDatetime
    end: UtcDatetime
    reason: str = Field(min_length=1, max_length=2000, description="The case this evidence is for.")
    alert_id: str | None = Field(None, max_length=128)


class ExportState(StrEnum):
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


class ExportJob(BaseModel):
    id: str
    state: ExportState
    cameras: list[str]
    start: UtcDatetime
    end: UtcDatetime
    requested_by: str
    error: str | None = None
    segments: int | None = None
    bytes: int | None = None
    download: str | None = Field(None, description="Where to fetch the package (a zip) once ready.")


class BoxInfo(BaseModel):
    """Which box this is and the key it signs its recordings with, to compare with the fingerprint
    `custodywatch export` prints and the public key a verifier is given."""

    site: str | None
    box_id: str | None
    key_fingerprint: str | None = Field(description="SHA256:... of the Ed25519 public key; null: no key yet.")
    public_key_pem: str | None
