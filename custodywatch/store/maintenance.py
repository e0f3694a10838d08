"""Maintenance windows in the store: started and ended by people (API, CLI), read by the analytics
process every few seconds (pipeline/analytics.py) to keep video_loss quiet for a serviced camera.

Who started and ended a window is kept in the row; the callers also write the audit log.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import sessionmaker

from custodywatch.rules.maintenance import MaintenanceWindow
from custodywatch.store.db import for_writing
from custodywatch.store.models import MaintenanceWindowRow

# A start a little before the box's clock is a clock difference; earlier would rewrite the past
# (an alert already raised would be judged under a window that did not exist then).
START_SLACK_S = 60.0


class MaintenanceError(Exception):
    pass


class WindowNotFound(MaintenanceError):
    def __init__(self, window_id: int):
        super().__init__(f"no maintenance window {window_id}")


class WindowConflict(MaintenanceError):
    """The camera has a window open already, or the window has ended already."""


class WindowTimes(MaintenanceError):
    """The times asked for make no window: it would end before it starts, or start in the past."""


def _window(row: MaintenanceWindowRow) -> MaintenanceWindow:
    return MaintenanceWindow(row.id, row.camera, row.start, row.until, row.ended_at, row.reason,
                             row.started_by, row.ended_by)


class MaintenanceStore:
    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._reads = sessionmaker(engine)
        self._writes = sessionmaker(for_writing(engine))
        self._clock = clock

    def start(self, camera: str, until: float, reason: str, by: str,
              start: float | None = None) -> MaintenanceWindow:
        now = self._clock()
        begin = now if start is None else start
        if begin < now - START_SLACK_S:
            raise WindowTimes("start: a maintenance window cannot begin in the past")
        if until <= begin:
            raise WindowTimes("until: the window must end after it begins")
        if not reason.strip():
            raise WindowTimes("reason: say why the camera is being serviced")
        with self._writes.begin() as db:
            # A window still to come counts as open too: one camera, one window at a time.
            running = db.scalars(select(MaintenanceWindowRow).where(
                MaintenanceWindowRow.camera == camera, MaintenanceWindowRow.ended_at.is_(None),
                MaintenanceWindowRow.until > now)).first()
            if running is not None:
                raise WindowConflict(f"camera {camera!r} has maintenance window {running.id} open already; "
                                     "end it first")
            row = MaintenanceWindowRow(camera=camera, reason=reason.strip(), started_by=by, start=begin,
                                       until=until, ended_at=None, ended_by=None, created_at=now)
            db.add(row)
            db.flush()
            return _window(row)

    def end(self, window_id: int, by: str, at: float | None = None) -> MaintenanceWindow:
        now = self._clock() if at is None else at
        with self._writes.begin() as db:
            row = db.get(MaintenanceWindowRow, window_id)
            if row is None:
                raise WindowNotFound(window_id)
            if row.ended_at is not None or row.until <= now:
                raise WindowConflict(f"maintenance window {window_id} has ended already")
            # Ended before it began: it never covered anything.
            row.ended_at, row.ended_by = max(now, row.start), by
            db.flush()
            return _window(row)

    def window(self, window_id: int) -> MaintenanceWindow:
        with self._reads() as db:
            row = db.get(MaintenanceWindowRow, window_id)
            if row is None:
                raise WindowNotFound(window_id)
            return _window(row)

    def windows(self, since: float, camera: str | None = None) -> list[MaintenanceWindow]:
        """Windows that end at or after `since` (open ones, ones to come, recently ended), by start."""
        where = [or_(MaintenanceWindowRow.ended_at >= since,
                     (MaintenanceWindowRow.ended_at.is_(None)) & (MaintenanceWindowRow.until >= since))]
        if camera is not None:
            where.append(MaintenanceWindowRow.camera == camera)
        with self._reads() as db:
            rows = db.scalars(select(MaintenanceWindowRow).where(*where)
                              .order_by(MaintenanceWindowRow.start, MaintenanceWindowRow.id))
            return [_window(r) for r in rows]
