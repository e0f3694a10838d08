"""The box's health checks raise after their breach time past a threshold and clear once back within."""
from __future__ import annotations

import dataclasses

import pytest

from custodywatch.box_health import BoxHealthRules, BoxSample, ClockStatus
from custodywatch.config import HealthConfig

CFG = HealthConfig(min_disk_free_gb=20, min_days_left=7, max_cpu_percent=90, max_memory_percent=90,
                   max_clock_offset_s=1.0, max_camera_drift_s=2.0, breach_after_s=60)
GB = 10**9
FINE = BoxSample(at=0.0, disk_free_bytes=500 * GB, disk_total_bytes=1000 * GB, write_bytes_per_s=100_000.0,
                 cpu_percent=40.0, memory_percent=50.0, clock=ClockStatus("chrony", 0.002, True),
                 camera_drift_s={"cam-1": 0.1})


def replay(script: list[tuple[float, dict[str, object]]]) -> tuple[BoxHealthRules, list[tuple[object, ...]]]:
    """script: [(t, changes to FINE)]; returns the rules and [(t, kind, check, severity)]."""
    rules = BoxHealthRules(CFG)
    out = []
    for t, changes in script:
        for c in rules.step(dataclasses.replace(FINE, at=t, **changes)):  # type: ignore[arg-type]
            out.append((c.at, c.kind, c.check, c.severity.value))
    return rules, out


@pytest.mark.parametrize(("bad", "check", "severity"), [
    ({"disk_free_bytes": 5 * GB, "write_bytes_per_s": None}, "disk_free", "alarm"),
    # 100 GB free at 1 MB/s: 1.16 days left
    ({"disk_free_bytes": 100 * GB, "write_bytes_per_s": 1e6}, "days_left", "warning"),
    ({"cpu_percent": 97.0}, "cpu", "warning"),
    ({"memory_percent": 95.5}, "memory", "warning"),
    ({"clock": ClockStatus("chrony", -3.5, True)}, "clock_offset", "warning"),
    ({"clock": ClockStatus("timedatectl", None, False)}, "clock_offset", "warning"),
    ({"camera_drift_s": {"cam-1": 4.0}}, "camera_drift/cam-1", "warning"),
])
def test_a_figure_past_its_limit_for_the_breach_time_raises_and_clears_when_back(
        bad: dict[str, object], check: str, severity: str) -> None:
    rules, changes = replay([(0, {}), (10, bad), (40, bad), (70, bad), (80, bad), (100, {}), (110, {})])
    assert changes == [(70, "raised", check, severity), (100, "cleared", check, severity)]
    assert rules.severity() == "ok"


def test_a_spike_shorter_than_the_breach_time_raises_nothing() -> None:
    spike = {"cpu_percent": 100.0}
    _, changes = replay([(0, spike), (30, spike), (50, {}), (60, spike), (100, spike)])
    assert changes == []


def test_the_worst_raised_check_sets_the_severity_and_unknown_figures_decide_nothing() -> None:
    full = {"disk_free_bytes": GB, "cpu_percent": 99.0}
    rules, changes = replay([(0, full), (60, full)])
    assert {c[2] for c in changes} == {"disk_free", "days_left", "cpu"}
    assert rules.severity() == "alarm"
    unknown = {"clock": ClockStatus(), "camera_drift_s": {"cam-1": None}, "write_bytes_per_s": None}
    rules, changes = replay([(0, unknown), (600, unknown)])
    assert changes == [] and rules.severity() == "ok"
    by_check = {s.reading.check: s.reading for s in rules.statuses()}
    assert by_check["clock_offset"].over is None and by_check["camera_drift/cam-1"].value is None
    assert by_check["days_left"].value is None


def test_days_left_is_free_space_over_the_write_rate() -> None:
    sample = dataclasses.replace(FINE, disk_free_bytes=864 * GB, write_bytes_per_s=1e6)
    assert sample.days_left == pytest.approx(10.0)
    assert dataclasses.replace(FINE, write_bytes_per_s=0.0).days_left is None
