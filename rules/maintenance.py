"""Maintenance windows: a camera being serviced raises no `video_loss`.

A window is a pure function of time: it covers a camera from `start` until `until`, or until it
was ended early. The schedule hands the room timeline a marker at each window boundary, so that
video_loss is evaluated again exactly there: a camera still dark at a window's end starts its
loss condition at that end, not before, and an alert already active when a window opens ends at
its start.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from custodywatch.rules.changes import MaintenanceChange


@dataclass(frozen=True)
class MaintenanceWindow:
    id: int
    camera: str
    start: float
    until: float  # the planned end
    ended_at: float | None = None  # ended early (or on time) by someone
    reason: str = ""
    started_by: str = ""
    ended_by: str | None = None

    @property
    def end(self) -> float:
        return self.until if self.ended_at is None else min(self.until, self.ended_at)

    def covers(self, t: float) -> bool:
        return self.start <= t < self.end

    def open_at(self, t: float) -> bool:
        """Still running (or still to come) at `t`."""
        return t < self.end


class MaintenanceSchedule:
    """The windows known now; `update` returns the boundary markers of new or changed ones."""

    def __init__(self) -> None:
        self._windows: dict[int, MaintenanceWindow] = {}

    def update(self, windows: Iterable[MaintenanceWindow]) -> list[MaintenanceChange]:
        markers: list[MaintenanceChange] = []
        for w in windows:
            known = self._windows.get(w.id)
            if known == w:
                continue
            self._windows[w.id] = w
            if known is None or known.start != w.start:
                markers.append(MaintenanceChange(w.camera, w.start))
            if known is None or known.end != w.end:
                markers.append(MaintenanceChange(w.camera, w.end))
        return markers

    def maintained(self, camera: str, t: float) -> bool:
        return any(w.camera == camera and w.covers(t) for w in self._windows.values())
