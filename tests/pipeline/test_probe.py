"""`custodywatch probe` and `check-config --probe`: what a camera sends, measured, with warnings.

Files with known properties are written by the recorder's test-media encoder; the RTSP cases serve
them unchanged (no re-encoding) through the project's audio/video loop server.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from custodywatch.cli import main
from custodywatch.paths import project_root
from custodywatch.recorder.testmedia import MediaSpec, write_media
from custodywatch.rtsp_server import RtspLoopServer

AV_TOOL = project_root() / "scripts" / "rtsp_av_loop_server.py"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("probe-media")
    return {
        "good": write_media(d / "good.mp4", MediaSpec(seconds=6, keyframe_s=1.0, audio="aac")),
        "long_gop_b": write_media(d / "long_gop_b.mp4",
                                  MediaSpec(seconds=8, keyframe_s=3.0, b_frames=2, audio=None)),
        "hevc": write_media(d / "hevc.mp4", MediaSpec(seconds=4, video_codec="libx265", audio=None)),
    }


def probe_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["probe", "--json", *args]) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def test_a_well_set_camera_is_measured_without_warnings(media: dict[str, Path],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    p = probe_json(capsys, str(media["good"]), "--seconds", "5")
    assert (p["codec"], p["width"], p["height"], p["audio_codec"]) == ("h264", 640, 360, "aac")
    assert p["fps"] == pytest.approx(25, abs=0.5)
    assert p["gop_s"] == pytest.approx(1.0, abs=0.05)
    assert p["b_frames"] is False
    assert isinstance(p["bitrate_kbps"], float) and p["bitrate_kbps"] > 0
    assert p["warnings"] == []


def test_long_gop_and_b_frames_are_measured_and_warned(media: dict[str, Path],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    p = probe_json(capsys, str(media["long_gop_b"]), "--seconds", "7", "--role", "sub")
    assert p["gop_s"] == pytest.approx(3.0, abs=0.05)
    assert p["b_frames"] is True
    warnings = " ".join(map(str, p["warnings"]))  # type: ignore[call-overload]
    assert "GOP 3.0 s" in warnings and "B-frames on the sub-stream" in warnings
    # The same stream recorded as a main stream: B-frames do no harm there.
    p = probe_json(capsys, str(media["long_gop_b"]), "--seconds", "7", "--role", "main")
    assert not any("B-frames" in str(w) for w in p["warnings"])  # type: ignore[attr-defined]
    assert main(["probe", "--strict", str(media["long_gop_b"]), "--seconds", "7"]) == 1


def test_h265_is_flagged_for_browser_playback(media: dict[str, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    p = probe_json(capsys, str(media["hevc"]), "--seconds", "3", "--role", "main")
    assert p["codec"] == "hevc"
    assert any("browser" in str(w) for w in p["warnings"])  # type: ignore[attr-defined]


def test_what_cannot_be_probed_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.mp4"
    assert main(["probe", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err
    text = tmp_path / "notes.txt"
    text.write_text("not a video\n")
    assert main(["probe", str(text)]) == 2
    assert "not a video file" in capsys.readouterr().err
    assert main(["probe", "rtsp://user:secret@127.0.0.1:9/none", "--timeout", "2"]) == 2
    err = capsys.readouterr().err
    assert "cannot open stream" in err and "secret" not in err


def test_probe_over_rtsp_and_check_config_probe(media: dict[str, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with RtspLoopServer({"good": media["good"], "bad": media["long_gop_b"]}, tool=AV_TOOL) as server:
        p = probe_json(capsys, server.url("good"), "--seconds", "3")
        assert (p["codec"], p["width"], p["height"], p["audio_codec"]) == ("h264", 640, 360, "aac")
        assert p["fps"] == pytest.approx(25, abs=1.0)
        assert p["gop_s"] == pytest.approx(1.0, abs=0.1)

        config = tmp_path / "cameras.yaml"
        config.write_text(f"""
rooms:
  - {{id: corridor-1, type: corridor}}
cameras:
  - {{id: cam-ok, room: corridor-1, detect_url: "{server.url('good')}"}}
""")
        assert main(["check-config", "--probe", str(config)]) == 0
        out = capsys.readouterr().out
        assert "cam-ok (analysed stream)" in out and "WARNING" not in out

        config.write_text(f"""
rooms:
  - {{id: corridor-1, type: corridor}}
cameras:
  - {{id: cam-ok, room: corridor-1, detect_url: "{server.url('good')}"}}
  - {{id: cam-b, room: corridor-1, detect_url: "{server.url('bad')}"}}
  - {{id: cam-gone, room: corridor-1, detect_url: "rtsp://127.0.0.1:9/none"}}
""")
        assert main(["check-config", "--probe", "--probe-seconds", "7", "--probe-timeout", "3",
                     str(config)]) == 1
        out = capsys.readouterr().out
        assert "cam-b (analysed stream)" in out and "B-frames on the sub-stream" in out
        assert "cam-gone (analysed stream): ERROR" in out
