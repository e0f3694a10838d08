"""The live rules read maintenance windows from the store: a dark camera under one raises nothing."""
from __future__ import annotations

from pathlib import Path

from custodywatch.config import parse_config
from custodywatch.pipeline.analytics import LiveRules
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate
from custodywatch.store.maintenance import MaintenanceStore
from custodywatch.store.rules_state import RulesStateStore

CFG = parse_config("""
rooms:
  - id: corridor-1
    type: corridor
cameras:
  - {id: cam-c, room: corridor-1, detect_url: c.mp4}
""")


def test_a_window_in_the_store_keeps_a_dark_camera_quiet_until_it_is_ended(tmp_path: Path) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'cw.db'}")
    migrate(db)
    t0 = 1_800_000_000.0
    clock = [t0]
    windows = MaintenanceStore(db, clock=lambda: clock[0])
    window = windows.start("cam-c", t0 + 3600, "new mount", "tech")
    rules = LiveRules(CFG, AlertStore(db, "s", "b"), RulesStateStore(db), t0, maintenance=windows)
    events = []
    t = t0
    while t <= t0 + 200:
        clock[0] = t
        if t == t0 + 100:
            windows.end(window.id, "tech")
        events += rules.tick(t)
        t += 0.5
    db.dispose()
    # no frames from the start; the window ended at +100: video_loss 20 s (plus the rules' horizon) later
    assert [(e.kind, e.rule.value, e.condition_started_at - t0, e.at - t0) for e in events] == [
        ("fired", "video_loss", 100.0, 120.0)]
