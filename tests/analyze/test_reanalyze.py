"""`custodywatch analyze --archive`: the rules over footage the real recorder stored, as over the file."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from custodywatch.cli import main
from custodywatch.recorder.camera import CameraRecorder
from custodywatch.recorder.index import ArchiveIndex, GapRecord

T0 = 1_800_000_000.0  # where the recorder puts each scene's first frame on the wall clock


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def camera_and_fps(config: Path) -> tuple[str, float]:
    camera = yaml.safe_load(config.read_text())["cameras"][0]
    return camera["id"], float(camera["fps"])


def record(video: Path, camera: str, archive: Path, at: float) -> None:
    """The scene file remuxed into 10 s segments by the recorder, as if it had been live from `at`."""
    CameraRecorder(camera, str(video), ArchiveIndex(archive), segment_s=10, wall=lambda: at).run(once=True)


def alerts(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    assert main(["analyze", *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("name", ["interrogation_officer_leaves", "holding_feed_lost"])
def test_stored_footage_gives_the_alerts_of_the_original_file(
        scene, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    s = scene(name)
    camera, fps = camera_and_fps(s.config)
    archive = tmp_path / "archive"
    record(s.video, camera, archive, T0)
    # holding_feed_lost's stream stops for 30 s: the archive holds a gap there, not a segment
    has_gap = any(isinstance(r, GapRecord) for r in ArchiveIndex(archive).records())
    assert has_gap == (name == "holding_feed_lost")

    original = alerts(capsys, str(s.video), "--config", str(s.config), "--camera", camera)
    stored = alerts(capsys, "--archive", str(archive), "--config", str(s.config), "--camera", camera,
                    "--from", iso(T0 - 60), "--to", iso(T0 + 3600))
    assert original, "the scene must raise alerts to compare"
    assert [(a["rule"], a["severity"]) for a in stored] == [(a["rule"], a["severity"]) for a in original]
    for got, want in zip(stored, original, strict=True):
        for key in ("start_s", "condition_start_s", "end_s"):
            if want[key] is None:
                assert got[key] is None
            else:
                assert abs(float(got[key]) - float(want[key])) <= 1 / fps + 1e-6, (key, got, want)  # type: ignore[arg-type]


def test_a_range_with_nothing_stored_or_bad_times_exits_2_naming_it(
        scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = scene("holding_feed_lost")
    camera, _ = camera_and_fps(s.config)
    archive = tmp_path / "archive"
    record(s.video, camera, archive, T0)
    base = ["analyze", "--archive", str(archive), "--config", str(s.config), "--camera", camera]
    assert main([*base, "--from", iso(T0 + 7200), "--to", iso(T0 + 9000)]) == 2
    assert f"holds nothing of camera {camera!r}" in capsys.readouterr().err
    assert main([*base, "--from", "noon", "--to", iso(T0)]) == 2
    assert "--from: 'noon'" in capsys.readouterr().err
    assert main([*base]) == 2
    assert "--archive needs --from and --to" in capsys.readouterr().err
    assert main(["analyze", "--archive", str(tmp_path), "--config", str(s.config), "--camera", camera,
                 "--from", iso(T0), "--to", iso(T0 + 60)]) == 2
    assert "is not an archive" in capsys.readouterr().err
    assert main(["analyze", str(s.video), *base[1:], "--from", iso(T0), "--to", iso(T0 + 60)]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["analyze", str(s.video), "--config", str(s.config), "--camera", camera,
                 "--from", iso(T0)]) == 2
    assert "--from/--to: they choose the range of --archive" in capsys.readouterr().err
