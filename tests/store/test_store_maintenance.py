"""Maintenance windows in the store, on SQLite and PostgreSQL: one open window per camera, ended
once, read back by the analytics process as long as they can still matter."""
from __future__ import annotations

import pytest
from sqlalchemy import Engine

from custodywatch.store.maintenance import MaintenanceStore, WindowConflict, WindowNotFound, WindowTimes

T = 1_800_000_000.0


def test_windows_open_end_and_read_back(engine: Engine) -> None:
    now = [T]
    store = MaintenanceStore(engine, clock=lambda: now[0])
    a = store.start("cam-1", T + 3600, " lens cleaning ", "tech")
    assert (a.camera, a.start, a.until, a.reason, a.started_by) == (
        "cam-1", T, T + 3600, "lens cleaning", "tech")
    with pytest.raises(WindowConflict, match="open already"):
        store.start("cam-1", T + 600, "again", "tech")
    b = store.start("cam-2", T + 600, "cable", "tech", start=T + 60)
    now[0] = T + 100
    ended = store.end(a.id, "boss")
    assert (ended.ended_at, ended.ended_by, ended.end) == (T + 100, "boss", T + 100)
    with pytest.raises(WindowConflict, match="ended already"):
        store.end(a.id, "boss")
    with pytest.raises(WindowNotFound):
        store.end(999, "boss")
    assert [w.id for w in store.windows(since=T)] == [a.id, b.id]
    assert [w.id for w in store.windows(since=T + 200)] == [b.id]  # a ended at +100
    assert [w.id for w in store.windows(since=T, camera="cam-2")] == [b.id]
    assert store.window(a.id) == ended
    # the camera is free again once its window ended
    assert store.start("cam-1", T + 900, "second look", "tech").id not in (a.id, b.id)


@pytest.mark.parametrize(("until", "start", "reason", "message"), [
    (T - 10, None, "r", "until: the window must end after it begins"),
    (T + 10, T - 3600, "r", "start: a maintenance window cannot begin in the past"),
    (T + 10, None, "  ", "reason"),
])
def test_a_window_that_makes_no_sense_is_refused_naming_the_field(
        engine: Engine, until: float, start: float | None, reason: str, message: str) -> None:
    store = MaintenanceStore(engine, clock=lambda: T)
    with pytest.raises(WindowTimes, match=message):
        store.start("cam-1", until, reason, "tech", start=start)
    assert store.windows(since=0) == []
