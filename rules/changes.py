"""The changes a room's timeline is built from, besides role counts (roles.RoleChange).

Each carries the time it was *observed* to happen, which may be earlier than the time it became
known; the room timeline orders them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from custodywatch.rules.roles import RoleChange
from custodywatch.vocabulary import Role


@dataclass(frozen=True)
class StillChange:
    """The guard at one camera's post became motionless (`still`), moved again, or unmeasured (None)."""

    camera: str
    still: bool | None
    at: float


@dataclass(frozen=True)
class SightChange:
    """One camera's video was lost (`lost`, with the reason) or came back, at time `at`."""

    camera: str
    lost: bool
    at: float
    reason: str = ""


@dataclass(frozen=True)
class CustodyChange:
    """A custody record for the room opened (+1, at check-in) or closed (-1, at release)."""

    room: str
    delta: int
    at: float


@dataclass(frozen=True)
class MaintenanceChange:
    """A maintenance window of one camera begins or ends at `at` (rules/maintenance.py): a marker that
    makes the room's rules look again there; whether the camera is maintained is the schedule's."""

    camera: str
    at: float


RoomChange = RoleChange | StillChange | SightChange | CustodyChange | MaintenanceChange
CameraChange = RoleChange | StillChange


# A pending change is saved with the rule state (a restart must not lose what is not yet settled).
def change_to_dict(change: RoomChange) -> dict[str, Any]:
    if isinstance(change, RoleChange):
        return {"type": "role", "camera": change.camera, "role": change.role.value, "delta": change.delta,
                "at": change.at}
    if isinstance(change, StillChange):
        return {"type": "still", "camera": change.camera, "still": change.still, "at": change.at}
    if isinstance(change, SightChange):
        return {"type": "sight", "camera": change.camera, "lost": change.lost, "at": change.at,
                "reason": change.reason}
    if isinstance(change, MaintenanceChange):
        return {"type": "maintenance", "camera": change.camera, "at": change.at}
    return {"type": "custody", "room": change.room, "delta": change.delta, "at": change.at}


def change_from_dict(d: dict[str, Any]) -> RoomChange:
    kind = d["type"]
    if kind == "role":
        return RoleChange(d["camera"], Role(d["role"]), int(d["delta"]), float(d["at"]))
    if kind == "still":
        return StillChange(d["camera"], d["still"], float(d["at"]))
    if kind == "sight":
        return SightChange(d["camera"], bool(d["lost"]), float(d["at"]), str(d["reason"]))
    if kind == "maintenance":
        return MaintenanceChange(d["camera"], float(d["at"]))
    return CustodyChange(d["room"], int(d["delta"]), float(d["at"]))
