"""One camera's analysis after the detector: tracking, zone membership, role counts."""
from __future__ import annotations

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from custodywatch.config import CameraConfig, RolesConfig
from custodywatch.rules.roles import RoleChange, RoleCounter
from custodywatch.vocabulary import ROLE_ZONES, Role, RoomType, Zone


class ZoneMap:
    """The camera's zones in pixels for a frame size, tested on each person's bottom-centre anchor."""

    def __init__(self, zones: dict[Zone, list[tuple[float, float]]]):
        self._normalised = zones
        self._size: tuple[int, int] | None = None
        self._zones: dict[Zone, sv.PolygonZone] = {}

    def members(self, detections: sv.Detections, size: tuple[int, int]) -> dict[Zone, np.ndarray]:
        if size != self._size:
            w, h = size
            scale = np.array([w - 1, h - 1], dtype=np.float64)
            self._zones = {
                z: sv.PolygonZone(np.round(np.asarray(poly, dtype=np.float64) * scale).astype(np.int32),
                                  triggering_anchors=(sv.Position.BOTTOM_CENTER,))
                for z, poly in self._normalised.items()
            }
            self._size = size
        if len(detections) == 0:
            return {z: np.zeros(0, dtype=bool) for z in self._zones}
        return {z: zone.trigger(detections) for z, zone in self._zones.items()}


class CameraAnalyzer:
    """Turns each analysed frame's person detections into role-count changes for the room."""

    def __init__(self, camera: CameraConfig, room_type: RoomType, roles: RolesConfig):
        self.camera_id = camera.id
        self._role_zones = ROLE_ZONES[room_type]
        self._zones = ZoneMap({z: list(p) for z, p in camera.zones.items()})
        # ByteTrack keeps a track through low-confidence frames and drops one-frame false positives.
        self._tracker = ByteTrackTracker(
            frame_rate=camera.fps,
            lost_track_buffer=max(2, int(round(camera.fps * roles.exit_s))),
            track_activation_threshold=0.4,
            high_conf_det_threshold=0.4,
            minimum_consecutive_frames=2,
        )
        self._counter = RoleCounter(camera.id, list(self._role_zones), roles.enter_s, roles.exit_s)

    def observe(self, t: float, detections: sv.Detections, size: tuple[int, int]) -> list[RoleChange]:
        tracked = self._tracker.update(detections)
        if len(tracked):
            assert tracked.tracker_id is not None, "ByteTrack gives every detection it returns an id"
            confirmed = tracked[tracked.tracker_id >= 0]
            assert isinstance(confirmed, sv.Detections)  # a mask selects detections (a str key, data)
            tracked = confirmed
        members = self._zones.members(tracked, size)
        raw = {role: int(members[zone].sum()) if zone in members else 0
               for role, zone in self._role_zones.items()}
        return self._counter.observe(t, raw)

    def counts(self) -> dict[Role, int]:
        return self._counter.counts()
