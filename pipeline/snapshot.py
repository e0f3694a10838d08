"""A camera's current frame with its zones and detections drawn: what an installer checks on site.

`custodywatch snapshot` grabs one frame from the camera's analysed stream, runs the detector on it,
and draws each zone's outline and each person's box coloured by the role their bottom-centre
anchor gives them in this room (grey: in no role zone), so a zone drawn a little off shows at once.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import supervision as sv

from custodywatch.config import CameraConfig, Config
from custodywatch.pipeline.source import SourceError, read_frames
from custodywatch.rules.camera import ZoneMap
from custodywatch.vocabulary import ROLE_ZONES, Role, Zone

# BGR. Zones and the roles they give share a hue, the zone outline thinner than the boxes.
ZONE_COLOURS: dict[Zone, tuple[int, int, int]] = {
    Zone.DETAINEE_SEAT: (0, 140, 255),
    Zone.DETAINEE_AREA: (0, 140, 255),
    Zone.OFFICER_AREA: (255, 160, 0),
    Zone.GUARD_POST: (255, 160, 0),
}
ROLE_COLOURS: dict[Role, tuple[int, int, int]] = {
    Role.DETAINEE: (0, 0, 255),
    Role.OFFICER: (255, 0, 0),
    Role.GUARD: (255, 0, 0),
}
NO_ROLE = (200, 200, 200)
ZONE_LINE, BOX_LINE = 3, 3


@dataclass(frozen=True)
class SnapshotPerson:
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels
    role: Role | None
    confidence: float


def grab_frame(camera: CameraConfig, timeout_s: float = 10.0) -> np.ndarray:
    """The first decodable frame of the camera's analysed stream (BGR)."""
    for frame in read_frames(camera.id, camera.detect_url, fps=camera.fps, open_timeout_s=timeout_s,
                             read_timeout_s=timeout_s, keyframe_gate=False):
        return frame.image
    raise SourceError(f"{camera.id}: the stream ended before a frame could be decoded")


def people_in_roles(cfg: Config, camera: CameraConfig, detections: sv.Detections,
                    size: tuple[int, int]) -> list[SnapshotPerson]:
    room_type = cfg.room(camera.room).type
    zones = {z: [(float(x), float(y)) for x, y in poly] for z, poly in camera.zones.items()}
    members = ZoneMap(zones).members(detections, size)
    out = []
    for i, xyxy in enumerate(detections.xyxy):
        role = next((r for r, z in ROLE_ZONES[room_type].items() if z in members and members[z][i]), None)
        conf = float(detections.confidence[i]) if detections.confidence is not None else 1.0
        x1, y1, x2, y2 = (int(round(v)) for v in xyxy)
        out.append(SnapshotPerson((x1, y1, x2, y2), role, conf))
    return out


def draw_zones(image: np.ndarray, camera: CameraConfig) -> np.ndarray:
    h, w = image.shape[:2]
    for zone, poly in camera.zones.items():
        pts = np.round(np.asarray(poly, np.float64) * [w - 1, h - 1]).astype(np.int32)
        colour = ZONE_COLOURS.get(zone, NO_ROLE)
        cv2.polylines(image, [pts], isClosed=True, color=colour, thickness=ZONE_LINE)
        x, y = pts.min(axis=0)
        cv2.putText(image, zone.value, (int(x) + 6, int(y) + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, colour, 2)
    return image


def draw_people(image: np.ndarray, people: list[SnapshotPerson]) -> np.ndarray:
    for p in people:
        colour = ROLE_COLOURS[p.role] if p.role else NO_ROLE
        x1, y1, x2, y2 = p.box
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, BOX_LINE)
        label = f"{p.role.value if p.role else 'person'} {p.confidence:.2f}"
        cv2.putText(image, label, (x1 + 4, max(14, y1 - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 2)
    return image
