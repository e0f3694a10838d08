"""Request and response bodies of cameras, custody records and the room timeline."""
from __future__ import annotations

from pydantic import BaseModel, Field, computed_field

from custodywatch.api.schemas import CameraHealth
from custodywatch.store.views import UtcDatetime

PERSON_PATTERN = r"^\S(.{0,62}\S)?$"  # a name or case number; no leading/trailing blanks


class CameraStatus(BaseModel):
    id: str
    room: str | None = Field(None, description="The camera's room; None when the box has no config loaded.")
    name: str | None = None
    health: CameraHealth | None = Field(None, description="None until the camera's reader has reported.")


class CheckIn(BaseModel):
    person: str = Field(min_length=1, max_length=64, pattern=PERSON_PATTERN)
    room: str = Field(min_length=1, max_length=32)
    legal_basis: str = Field(min_length=1, max_length=32,
                             description="One of the config's custody.limits_s keys.")
    extended: bool = Field(False, description="Especially complex case: the extended (24 h) limit applies.")
    check_in: UtcDatetime | None = Field(None, description="When custody began; now if left out.")


class CustodyOptions(BaseModel):
    rooms: list[str]
    legal_bases: dict[str, float] = Field(description="Each legal basis and its limit in seconds.")


class Release(BaseModel):
    release: UtcDatetime | None = Field(None, description="When custody ended; now if left out.")


class CustodyView(BaseModel):
    person: str
    room: str
    legal_basis: str
    extended: bool
    check_in: UtcDatetime
    release: UtcDatetime | None
    limit_s: float = Field(description="How long this legal basis allows.")
    deadline: UtcDatetime = Field(description="check_in + limit_s: custody must end by then.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def open(self) -> bool:
        return self.release is None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def deadline_epoch(self) -> float:
        return self.deadline.timestamp()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def check_in_epoch(self) -> float:
        return self.check_in.timestamp()


class RoomCountsView(BaseModel):
    at: UtcDatetime
    detainees: int
    officers: int
    guards: int
