"""`custodywatch analyze --custody` on a composed holding-room scene, with real custody files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow


def analyze(video: Path, config: Path, camera: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "custodywatch.cli", "analyze", str(video), "--config",
                           str(config), "--camera", camera, *extra],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def holding(scene, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A holding room where a detainee sits and the guard leaves; our own thresholds for custody."""
    s = scene("holding_guard_leaves")
    cfg = yaml.safe_load(s.config.read_text())
    room = cfg["rooms"][0]
    room["rules"] = {"guard_absent": {"enabled": False}, "guard_asleep": {"enabled": False},
                     "overstay": {"warn_after_s": 40.0, "alarm_after_s": 50.0},
                     "unregistered_detention": {"after_s": 15.0}, "video_loss": {"enabled": False}}
    config = tmp_path_factory.mktemp("custody") / "holding.yaml"
    config.write_text(yaml.safe_dump(cfg))
    return s.video, config, cfg["cameras"][0]["id"]


def lines(res: subprocess.CompletedProcess[str]) -> list[tuple[str, str, float, float]]:
    assert res.returncode == 0, res.stderr
    return [(d["rule"], d["severity"], d["start_s"], d["condition_start_s"])
            for d in map(json.loads, res.stdout.splitlines())]


def test_a_record_runs_the_clock_from_check_in(holding, tmp_path):
    video, config, camera = holding
    room = yaml.safe_load(config.read_text())["rooms"][0]["id"]
    custody = tmp_path / "custody.yaml"
    custody.write_text(f"- {{person: d1, room: {room}, legal_basis: questioning, check_in: -30}}\n")
    assert lines(analyze(video, config, camera, "--custody", str(custody))) == [
        ("overstay", "warning", 10.0, -30.0), ("overstay", "alarm", 20.0, -30.0)]


def test_iso_times_in_csv_with_a_start_time(holding, tmp_path):
    video, config, camera = holding
    room = yaml.safe_load(config.read_text())["rooms"][0]["id"]
    custody = tmp_path / "custody.csv"
    custody.write_text("person,room,legal_basis,extended,check_in,release\n"
                       f"d1,{room},summons,false,2026-11-26T08:59:30+00:00,\n")
    res = analyze(video, config, camera, "--custody", str(custody),
                  "--start-time", "2026-11-26T09:00:00+00:00")
    assert lines(res) == [("overstay", "warning", 10.0, -30.0), ("overstay", "alarm", 20.0, -30.0)]


def test_without_a_record_the_detainee_is_unregistered_and_clocked_from_presence(holding):
    video, config, camera = holding
    got = lines(analyze(video, config, camera))
    rules = [(rule, severity) for rule, severity, _, _ in got]
    assert ("unregistered_detention", "alarm") in rules
    (unregistered,) = [g for g in got if g[0] == "unregistered_detention"]
    presence = [g for g in got if g[0] == "overstay"]
    assert [severity for _, severity, _, _ in presence] == ["warning", "alarm"]
    assert all(start == unregistered[3] for _, _, _, start in presence)
    assert unregistered[2] == pytest.approx(unregistered[3] + 15.0)


def test_a_bad_custody_file_exits_2_naming_file_line_and_key(holding, tmp_path):
    video, config, camera = holding
    custody = tmp_path / "bad.yaml"
    custody.write_text("- person: d1\n  room: nowhere\n  legal_basis: questioning\n  check_in: 0\n")
    res = analyze(video, config, camera, "--custody", str(custody))
    assert res.returncode == 2 and res.stdout == ""
    assert f"{custody}:2: room: room 'nowhere' is not in the config" in res.stderr
    missing = analyze(video, config, camera, "--custody", str(tmp_path / "none.csv"))
    assert missing.returncode == 2 and "none.csv" in missing.stderr
    iso = tmp_path / "iso.yaml"
    iso.write_text("- {person: d1, room: x, legal_basis: questioning, check_in: '2026-11-26T08:00:00'}\n")
    res = analyze(video, config, camera, "--custody", str(iso))
    assert res.returncode == 2 and "iso.yaml:1: check_in:" in res.stderr and "--start-time" in res.stderr
    bad_start = analyze(video, config, camera, "--custody", str(iso), "--start-time", "noon")
    assert bad_start.returncode == 2 and "--start-time" in bad_start.stderr
