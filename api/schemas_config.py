"""Request and response bodies of the zone editor and of config reloads."""
from __future__ import annotations

from pydantic import BaseModel, Field

from custodywatch.store.views import UtcDatetime

# A point as the page sends it; the config's own rules (0..1, at least 3 points, no crossing edges,
# names allowed for the room) are checked by validating the config the zones would go into.
RawPolygon = list[list[float]]


class ConfigReloadReport(BaseModel):
    """The last reload of the config file (SIGHUP, `systemctl reload`, or a save in the zone editor)."""

    at: UtcDatetime
    trigger: str = Field(description="What asked for it: `SIGHUP`, or `zones saved by <user>`.")
    ok: bool = Field(description="False: the file is not valid; the service runs on with the config "
                                 "it had, and `problems` say what to fix (`FILE:LINE: key: message`).")
    problems: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list, description=(
        "Processes restarted, started or stopped to apply it (reader groups, detector workers); "
        "analytics and the recorder apply changes without a restart."))
    pending_restart: list[str] = Field(default_factory=list, description=(
        "Changed settings only a service restart applies (site, detector, api, store, mqtt, central, "
        "supervisor, health, recorder.archive_dir); until then the running values stay in force."))


class CameraZones(BaseModel):
    camera: str
    room: str
    room_type: str
    allowed: list[str] = Field(description="Zone names valid in this camera's room.")
    required: list[str] = Field(description="Zones the room needs on at least one of its cameras.")
    zones: dict[str, RawPolygon] = Field(description="Normalised [x, y] polygons (0..1, origin top left).")


class ZonesUpdate(BaseModel):
    zones: dict[str, RawPolygon] = Field(max_length=16)


class ZoneProblem(BaseModel):
    path: str = Field(description="The key path in the config, e.g. `cameras[0].zones.officer_area`.")
    line: int
    message: str


class ZonesSaved(BaseModel):
    camera: str
    zones: dict[str, RawPolygon]
    backup: str = Field(description="The file the previous config was kept in, beside the config file.")
    reload: ConfigReloadReport
