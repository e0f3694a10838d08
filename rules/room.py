"""What the rules see of a room over time, released in time order once settled.

Cameras report changes with their *observed* times, some of them late (an exit is known only
`exit_s` after the last sighting, a lost picture only once it stayed lost for a moment), so a
change is applied only when no earlier one can still come. That keeps condition start times
exact, at the cost of deciding `horizon_s` late.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from custodywatch.rules.changes import CustodyChange, MaintenanceChange, RoomChange, SightChange, StillChange
from custodywatch.rules.roles import RoleChange
from custodywatch.vocabulary import Role


@dataclass(frozen=True)
class RoomObservation:
    """What the rules see of a room from time `at` on.

    counts: people per role, the maximum over the room's cameras.
    guard_still: whether the guard at the post is motionless (None: unknown, nobody measured).
    lost: the room's cameras whose video is lost, with why; while any is, the room is blind.
    registered: open custody records for the room.
    maintained: the room's cameras under a maintenance window (no video_loss for them).
    """

    at: float
    counts: Mapping[Role, int]
    guard_still: bool | None = None
    lost: Mapping[str, str] = field(default_factory=dict)
    registered: int = 0
    maintained: frozenset[str] = frozenset()

    def count(self, role: Role) -> int:
        return self.counts.get(role, 0)

    @property
    def blind(self) -> bool:
        return bool(self.lost)


@dataclass(order=True)
class _Pending:
    at: float
    seq: int
    change: RoomChange = field(compare=False)


@dataclass
class _Camera:
    counts: dict[Role, int]
    still: bool | None = None
    lost: bool = False
    reason: str = ""


class RoomTimeline:
    """Collects a room's changes (roles, stillness, sight, custody) and releases them once settled."""

    def __init__(self, cameras: Iterable[str], roles: Iterable[Role], horizon_s: float,
                 maintained: Callable[[str, float], bool] | None = None):
        """`maintained(camera, t)`: whether a maintenance window covers the camera at `t`."""
        self.horizon_s = horizon_s
        self._maintained = maintained
        self._roles = list(roles)
        self._cameras: dict[str, _Camera] = {c: _Camera({r: 0 for r in self._roles}) for c in cameras}
        self._registered = 0
        self._pending: list[_Pending] = []
        self._seq = 0

    def add(self, changes: Iterable[RoomChange]) -> None:
        for change in changes:
            if not isinstance(change, CustodyChange) and change.camera not in self._cameras:
                continue
            self._seq += 1
            heapq.heappush(self._pending, _Pending(change.at, self._seq, change))

    def settle(self, now: float) -> list[RoomObservation]:
        """Apply every change observed at or before `now - horizon_s`; one observation per time."""
        return self._release(now - self.horizon_s)

    def flush(self) -> list[RoomObservation]:
        return self._release(float("inf"))

    def pending(self) -> list[RoomChange]:
        """Changes received but not yet settled, in time order."""
        return [p.change for p in sorted(self._pending)]

    def counts(self) -> dict[Role, int]:
        return {r: max((cam.counts[r] for cam in self._cameras.values()), default=0) for r in self._roles}

    def observation(self, at: float) -> RoomObservation:
        stills = [c.still for c in self._cameras.values() if c.still is not None]
        # Still only when every camera that measures the guard sees them still.
        guard_still = (all(stills) if stills else None)
        lost = {name: c.reason for name, c in self._cameras.items() if c.lost}
        return RoomObservation(at, self.counts(), guard_still, lost, self._registered, self.maintained_at(at))

    def maintained_at(self, t: float) -> frozenset[str]:
        if self._maintained is None:
            return frozenset()
        return frozenset(c for c in self._cameras if self._maintained(c, t))

    def _apply(self, change: RoomChange) -> None:
        if isinstance(change, CustodyChange):
            self._registered = max(0, self._registered + change.delta)
            return
        if isinstance(change, MaintenanceChange):
            return  # a marker only: the schedule says who is maintained (observation)
        cam = self._cameras[change.camera]
        if isinstance(change, RoleChange):
            cam.counts[change.role] = max(0, cam.counts[change.role] + change.delta)
        elif isinstance(change, StillChange):
            cam.still = change.still
        elif isinstance(change, SightChange):
            cam.lost, cam.reason = change.lost, change.reason

    def _release(self, until: float) -> list[RoomObservation]:
        out: list[RoomObservation] = []
        while self._pending and self._pending[0].at <= until:
            change = heapq.heappop(self._pending).change
            self._apply(change)
            obs = self.observation(change.at)
            if out and out[-1].at == obs.at:
                out[-1] = obs
            else:
                out.append(obs)
        return out

    # ---- persistence -----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "cameras": {name: {"counts": {r.value: n for r, n in c.counts.items()}, "still": c.still,
                               "lost": c.lost, "reason": c.reason} for name, c in self._cameras.items()},
            "registered": self._registered,
        }

    def load_state(self, d: Mapping[str, Any]) -> None:
        for name, c in d.get("cameras", {}).items():
            cam = self._cameras.get(name)
            if cam is None:
                continue
            for role, n in c["counts"].items():
                if Role(role) in cam.counts:
                    cam.counts[Role(role)] = int(n)
            cam.still, cam.lost, cam.reason = c["still"], bool(c["lost"]), str(c.get("reason", ""))
        self._registered = int(d.get("registered", 0))
