"""The store as the processes that write alerts see it, for the health report (`store`)."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from custodywatch.api.schemas import StoreHealth
from custodywatch.pipeline.store_report import REPEAT_S, StoreReport

log = logging.getLogger("custodywatch.api")

# An outage report not repeated for this long is from a process that died; its successor reports
# afresh (from its spool) once it runs.
STALE_S = 6 * REPEAT_S


class StoreStatus:
    def __init__(self, clock: Callable[[], float] = time.monotonic, stale_s: float = STALE_S):
        self._clock = clock
        self._stale_s = stale_s
        self._lock = threading.Lock()
        self._reports: dict[str, tuple[StoreReport, float]] = {}

    def update(self, report: StoreReport) -> None:
        with self._lock:
            before = self._reports.get(report.source)
            self._reports[report.source] = (report, self._clock())
        was_down = before is not None and before[0].unavailable_since is not None
        if report.unavailable_since is not None and not was_down:
            log.error("%s cannot write to the store: %d alert events wait for it",
                      report.source, report.waiting)
        elif report.unavailable_since is None and was_down:
            log.warning("%s writes to the store again", report.source)

    def report(self) -> StoreHealth | None:
        """None until a process has reported; then whether every reporting process reaches the store."""
        now = self._clock()
        with self._lock:
            current = [r for r, at in self._reports.values()
                       if r.unavailable_since is None or now - at <= self._stale_s]
            if not self._reports:
                return None
        since = min((r.unavailable_since for r in current if r.unavailable_since is not None), default=None)
        return StoreHealth(
            reachable=since is None,
            alert_events_waiting=sum(r.waiting for r in current),
            unavailable_since=None if since is None else datetime.fromtimestamp(since, UTC),
            waiting_by_process={r.source: r.waiting for r in current if r.waiting},
        )
