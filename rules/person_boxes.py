"""The people of one analysed frame as an alert's snapshot draws them: each tracked box as fractions
of the frame (so it fits the recorded main stream whatever its resolution) and the role its zone
gave it (None: in no zone of the room's roles)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import supervision as sv

from custodywatch.vocabulary import Role, Zone


@dataclass(frozen=True)
class PersonBox:
    x1: float
    y1: float
    x2: float
    y2: float
    role: str | None = None
    zone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"x1": self.x1, "y1": self.y1, "x2": self.x2, "y2": self.y2,
                "role": self.role, "zone": self.zone}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PersonBox:
        return cls(float(d["x1"]), float(d["y1"]), float(d["x2"]), float(d["y2"]),
                   d.get("role"), d.get("zone"))


def person_boxes(tracked: sv.Detections, members: dict[Zone, np.ndarray], size: tuple[int, int],
                 role_zones: dict[Role, Zone]) -> list[PersonBox]:
    """`members`: for each zone, which of `tracked` are in it (ZoneMap.members)."""
    w, h = size
    out: list[PersonBox] = []
    for i, (x1, y1, x2, y2) in enumerate(np.asarray(tracked.xyxy, dtype=np.float64)):
        role = zone = None
        for r, z in role_zones.items():
            if z in members and len(members[z]) > i and bool(members[z][i]):
                role, zone = r.value, z.value
                break
        out.append(PersonBox(round(x1 / w, 4), round(y1 / h, 4), round(x2 / w, 4), round(y2 / h, 4),
                             role, zone))
    return out
