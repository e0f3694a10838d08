"""`custodywatch analyze` on composed scenes with known ground truth, and on bad input."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ONSET_TOLERANCE_S = 10.0


def analyze(video: Path, config: Path, camera: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "custodywatch.cli", "analyze", str(video),
                           "--config", str(config), "--camera", camera],
                          capture_output=True, text=True, timeout=600)


def camera_of(config: Path) -> str:
    return yaml.safe_load(config.read_text())["cameras"][0]["id"]


def truth_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("name", ["interrogation_officer_leaves", "holding_guard_leaves"])
def test_finds_each_true_alert_near_its_onset(scene, name):
    s = scene(name)
    res = analyze(s.video, s.config, camera_of(s.config))
    assert res.returncode == 0, res.stderr
    got = [json.loads(line) for line in res.stdout.splitlines()]
    truth = truth_of(s.truth)
    assert truth, "the scene must have alerts to find"
    assert len(got) == len(truth), (got, truth)
    for want, found in zip(truth, got, strict=True):
        assert (found["rule"], found["severity"], found["camera"], found["room"]) == (
            want["rule"], want["severity"], want["camera"], want["room"])
        assert abs(found["start_s"] - want["start_s"]) <= ONSET_TOLERANCE_S, (found, want)
        assert found["start_s"] >= found["condition_start_s"]
        assert set(found) == {"rule", "camera", "room", "severity", "start_s", "condition_start_s", "end_s",
                              "id"}
    assert [g["start_s"] for g in got] == sorted(g["start_s"] for g in got)
    assert "frames" in res.stderr  # progress goes to stderr, never stdout


def test_two_level_alert_prints_both_levels_with_one_condition_start(scene):
    s = scene("holding_guard_leaves")
    res = analyze(s.video, s.config, camera_of(s.config))
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert [line["severity"] for line in lines] == ["warning", "alarm"]
    assert lines[0]["condition_start_s"] == lines[1]["condition_start_s"]


def test_no_alert_when_both_officers_stay(scene):
    s = scene("interrogation_both_stay")
    res = analyze(s.video, s.config, camera_of(s.config))
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""


def test_bad_input_exits_2_naming_what_is_wrong(scene, tmp_path):
    s = scene("interrogation_officer_leaves")
    cam = camera_of(s.config)
    missing = analyze(tmp_path / "nope.mp4", s.config, cam)
    assert missing.returncode == 2 and "nope.mp4" in missing.stderr and missing.stdout == ""
    unknown = analyze(s.video, s.config, "cam-nope")
    assert unknown.returncode == 2 and "cam-nope" in unknown.stderr
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 100)
    notvideo = analyze(text, s.config, cam)
    assert notvideo.returncode == 2 and "notes.mp4" in notvideo.stderr and "not a video" in notvideo.stderr
    bad_cfg = tmp_path / "bad.yaml"
    bad_cfg.write_text(s.config.read_text().replace("fps:", "fps_typo:"))
    badc = analyze(s.video, bad_cfg, cam)
    assert badc.returncode == 2 and "bad.yaml:" in badc.stderr and "fps_typo" in badc.stderr
