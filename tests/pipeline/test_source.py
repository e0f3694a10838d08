"""Reading files and streams: sampling on the file's own timestamps, clear errors, no credentials."""
from __future__ import annotations

import socket

import pytest

from custodywatch.pipeline.source import FrameSampler, SourceError, open_container, read_frames


@pytest.mark.parametrize(
    "fps, times, kept",
    [
        (2, [i / 10 for i in range(21)], [0.0, 0.5, 1.0, 1.5, 2.0]),  # 10 fps stream at 2 fps
        (5, [i / 15 for i in range(16)], [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),  # no drift from 1/15 steps
        (2, [0.0, 0.5, 5.0, 5.5], [0.0, 0.5, 5.0, 5.5]),  # after a gap: no burst of catch-up frames
    ],
)
def test_sampler_keeps_the_analysis_rate(fps, times, kept):
    s = FrameSampler(fps)
    got = [t for t in times if s.take(t)]
    assert got == pytest.approx(kept, abs=0.07)


def test_file_frames_carry_the_files_own_clock(scene):
    s = scene("interrogation_both_stay")
    frames = list(read_frames("cam", str(s.video), 5))
    assert len(frames) == 375
    assert frames[0].stream_s == 0.0
    assert frames[-1].stream_s == pytest.approx(74.8, abs=0.01)
    assert frames[10].image.shape == (360, 640, 3)


def test_stream_error_hides_credentials():
    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"rtsp://admin:hunter2@127.0.0.1:{port}/sub"
    with pytest.raises(SourceError) as info:
        open_container(url, open_timeout_s=2, read_timeout_s=2)
    assert "hunter2" not in str(info.value)
    assert f"127.0.0.1:{port}/sub" in str(info.value)


def test_non_video_file_is_named(tmp_path):
    bad = tmp_path / "report.mp4"
    bad.write_bytes(b"\x00\x01garbage" * 500)
    with pytest.raises(SourceError, match="report.mp4: not a video file"):
        list(read_frames("cam", str(bad), 2))
