"""A room's role counts over time: the maximum over its cameras, released in time order."""
from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from custodywatch.rules.roles import RoleChange
from custodywatch.vocabulary import Role


@dataclass(frozen=True)
class RoomObservation:
    """What the rules see of a room from time `at` on."""

    at: float
    counts: Mapping[Role, int]

    def count(self, role: Role) -> int:
        return self.counts.get(role, 0)


@dataclass(order=True)
class _Pending:
    at: float
    seq: int
    change: RoleChange = field(compare=False)


class RoomTimeline:
    """Collects role changes from a room's cameras and releases them once settled.

    Changes arrive up to `horizon_s` after their observed time (an exit is known only `exit_s`
    after the last sighting), so a change is applied only when no earlier one can still come.
    That keeps condition start times exact, at the cost of deciding `horizon_s` late.
    """

    def __init__(self, cameras: Iterable[str], roles: Iterable[Role], horizon_s: float):
        self.horizon_s = horizon_s
        self._roles = list(roles)
        self._per_camera: dict[str, dict[Role, int]] = {c: {r: 0 for r in self._roles} for c in cameras}
        self._pending: list[_Pending] = []
        self._seq = 0

    def add(self, changes: Iterable[RoleChange]) -> None:
        for change in changes:
            if change.camera not in self._per_camera:
                continue
            self._seq += 1
            heapq.heappush(self._pending, _Pending(change.at, self._seq, change))

    def settle(self, now: float) -> list[RoomObservation]:
        """Apply every change observed at or before `now - horizon_s`; one observation per change."""
        return self._release(now - self.horizon_s)

    def flush(self) -> list[RoomObservation]:
        return self._release(float("inf"))

    def counts(self) -> dict[Role, int]:
        return {r: max((cam[r] for cam in self._per_camera.values()), default=0) for r in self._roles}

    def _release(self, until: float) -> list[RoomObservation]:
        out: list[RoomObservation] = []
        while self._pending and self._pending[0].at <= until:
            change = heapq.heappop(self._pending).change
            cam = self._per_camera[change.camera]
            cam[change.role] = max(0, cam[change.role] + change.delta)
            obs = RoomObservation(change.at, self.counts())
            if out and out[-1].at == obs.at:
                out[-1] = obs
            else:
                out.append(obs)
        return out
