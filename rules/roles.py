"""Role counts from zone membership, with entry/exit hysteresis on observed times.

Counting is done per count *level* rather than per track, so a tracker id switch never creates or
removes a person: level k of a role is present once at least k people have been seen in the
role's zone for `enter_s` (allowing gaps shorter than `exit_s`), and absent once fewer than k have
been seen there for `exit_s`. Each change carries its *observed* time — the first sighting of the
run for an arrival, the last sighting for a departure — so hysteresis never stretches a timer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from custodywatch.vocabulary import Role


@dataclass(frozen=True)
class RoleChange:
    """A role's count on one camera rose or fell by one (`delta`) at time `at` (observed time).

    Deltas rather than absolute counts, so changes reported out of order still sum correctly.
    """

    camera: str
    role: Role
    delta: int
    at: float


@dataclass
class _Level:
    present: bool = False
    run_start: float | None = None
    last_seen: float | None = None


@dataclass
class _RoleHysteresis:
    enter_s: float
    exit_s: float
    levels: list[_Level] = field(default_factory=list)

    def count(self) -> int:
        return sum(1 for lv in self.levels if lv.present)

    def observe(self, t: float, raw: int) -> list[tuple[float, int]]:
        """Feed one frame's raw count; return (observed time, +1/-1) level transitions."""
        while len(self.levels) < raw:
            self.levels.append(_Level())
        out: list[tuple[float, int]] = []
        for k, lv in enumerate(self.levels, start=1):
            if raw >= k:
                if lv.run_start is None or (lv.last_seen is not None and t - lv.last_seen > self.exit_s):
                    lv.run_start = t
                lv.last_seen = t
                if not lv.present and t - lv.run_start >= self.enter_s:
                    lv.present = True
                    out.append((lv.run_start, +1))
            elif lv.last_seen is not None and t - lv.last_seen >= self.exit_s:
                if lv.present:
                    lv.present = False
                    out.append((lv.last_seen, -1))
                lv.run_start = None
        return out


class RoleCounter:
    """Per-camera role counts with hysteresis; fed raw per-frame counts, emits changes."""

    def __init__(self, camera: str, roles: list[Role], enter_s: float, exit_s: float):
        self.camera = camera
        self.exit_s = exit_s
        self._roles = {role: _RoleHysteresis(enter_s, exit_s) for role in roles}
        self._last_t: float | None = None

    def observe(self, t: float, raw_counts: dict[Role, int]) -> list[RoleChange]:
        self._last_t = t
        changes: list[RoleChange] = []
        for role, hyst in self._roles.items():
            for at, delta in hyst.observe(t, raw_counts.get(role, 0)):
                changes.append(RoleChange(self.camera, role, delta, at))
        changes.sort(key=lambda c: c.at)
        return changes

    def counts(self) -> dict[Role, int]:
        return {role: hyst.count() for role, hyst in self._roles.items()}

    def presume_present(self, now: float) -> None:
        """After a time unseen (video lost, service down): those counted are taken as last seen at
        `now`, so whoever is gone is counted out `exit_s` later and whoever stayed is not counted
        in twice. Runs not yet counted in start over."""
        for hyst in self._roles.values():
            hyst.levels = [_Level(True, now, now) for lv in hyst.levels if lv.present]

    def state(self) -> dict[str, Any]:
        levels = {role.value: [asdict(lv) for lv in hyst.levels] for role, hyst in self._roles.items()}
        return {"last_t": self._last_t, "levels": levels}

    def load_state(self, d: dict[str, Any], now: float) -> None:
        """Put back a saved state at `now`. After a short stop (less than half of `exit_s` since the
        last frame) everything goes on exactly; after a longer one, see presume_present."""
        for role, levels in d.get("levels", {}).items():
            hyst = self._roles.get(Role(role))
            if hyst is not None:
                hyst.levels = [_Level(**lv) for lv in levels]
        last_t = d.get("last_t")
        self._last_t = None if last_t is None else float(last_t)
        if self._last_t is None or now - self._last_t > self.exit_s / 2:
            self.presume_present(now)
