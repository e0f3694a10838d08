"""One camera's analysis after the detector: tracking, zone membership, role counts, guard stillness."""
from __future__ import annotations

from typing import Any

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from custodywatch.config import CameraConfig, RolesConfig
from custodywatch.rules.changes import CameraChange
from custodywatch.rules.motion import MOTION_KEY
from custodywatch.rules.person_boxes import PersonBox, person_boxes
from custodywatch.rules.posture import Posture
from custodywatch.rules.roles import RoleCounter
from custodywatch.rules.stillness import GuardStillness
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
    """Turns each analysed frame's person detections into role-count and guard-stillness changes.

    Motion energy rides in `detections.data[MOTION_KEY]` (motion.MotionMeter, computed where the
    pixels are); without it the guard's stillness is unknown and guard_asleep never fires.
    """

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
        self._stillness = GuardStillness(camera.id) if Role.GUARD in self._role_zones else None
        self._blind = False
        self.last_boxes: list[PersonBox] = []  # the people of the last frame, for alert snapshots

    def observe(self, t: float, detections: sv.Detections, size: tuple[int, int],
                blind: bool = False) -> list[CameraChange]:
        """One analysed frame at `t`. `blind`: the camera's video is lost (RuleEngine.sight_lost).

        While blind, nobody is seen or unseen: counts hold (the rules that need sight are
        suspended meanwhile). When sight returns, those counted before are taken as last seen then,
        so whoever left meanwhile is counted out `exit_s` later and whoever stayed is not counted in
        twice.
        """
        if blind:
            self._blind = True
            self.last_boxes = []
            return []
        if self._blind:
            self._blind = False
            self._counter.presume_present(t)
        tracked = self._tracker.update(detections)
        if len(tracked):
            assert tracked.tracker_id is not None, "ByteTrack gives every detection it returns an id"
            confirmed = tracked[tracked.tracker_id >= 0]
            assert isinstance(confirmed, sv.Detections)  # a mask selects detections (a str key, data)
            tracked = confirmed
        members = self._zones.members(tracked, size)
        self.last_boxes = person_boxes(tracked, members, size, self._role_zones)
        raw = {role: int(members[zone].sum()) if zone in members else 0
               for role, zone in self._role_zones.items()}
        changes: list[CameraChange] = list(self._counter.observe(t, raw))
        if self._stillness is not None and Zone.GUARD_POST in members:
            at_post = members[Zone.GUARD_POST]
            motion = tracked.data.get(MOTION_KEY) if len(tracked) else None
            if motion is not None:
                changes += self._stillness.observe(t, [float(e) for e in np.asarray(motion)[at_post]])
        return changes

    def observe_posture(self, t: float, posture: Posture) -> list[CameraChange]:
        """The posture of the guard at the post, read by the pose model now and then."""
        return [] if self._stillness is None else list(self._stillness.observe_posture(t, posture))

    def counts(self) -> dict[Role, int]:
        return self._counter.counts()

    def state(self) -> dict[str, Any]:
        return {"counter": self._counter.state(), "blind": self._blind,
                "stillness": None if self._stillness is None else self._stillness.state()}

    def load_state(self, d: dict[str, Any], now: float) -> None:
        """Put back the role counts and the guard's stillness after a restart at `now`."""
        self._counter.load_state(d.get("counter", {}), now)
        self._blind = bool(d.get("blind", False))
        if self._stillness is not None and d.get("stillness") is not None:
            self._stillness.load_state(d["stillness"])
