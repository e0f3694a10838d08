"""Fixtures for the recorder: A/V media that shows its frame index, a real RTSP server serving it
with its audio (the project's scripts/rtsp_av_loop_server.py), and file-made archives."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from recorder_helpers import AV_TOOL

from custodywatch.recorder.testmedia import MediaSpec, write_media
from custodywatch.rtsp_server import RtspLoopServer, default_python


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keys, signatures and the database of each test live in its own data directory."""
    data = tmp_path / "data"
    monkeypatch.setenv("CUSTODYWATCH_DATA", str(data))
    monkeypatch.delenv("CUSTODYWATCH_DATABASE_URL", raising=False)
    return data


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """8 s at 25 fps, a keyframe every second: H.264+AAC, H.264+G.711 A-law, H.265+AAC."""
    out = tmp_path_factory.mktemp("recorder-media")
    return {
        "aac": write_media(out / "h264_aac.mp4", MediaSpec(seconds=8)),
        "alaw": write_media(out / "h264_alaw.mov", MediaSpec(seconds=8, audio="pcm_alaw", sample_rate=8000)),
        "hevc": write_media(out / "hevc_aac.mp4", MediaSpec(seconds=8, video_codec="libx265")),
    }


@pytest.fixture(scope="session")
def av_server(media: dict[str, Path]) -> Iterator[RtspLoopServer]:
    """One server for the tests that only read from it (tests that kill a server start their own)."""
    if not default_python().is_file():
        pytest.skip("the RTSP server's venv is missing: run scripts/setup.sh")
    with RtspLoopServer(dict(media), tool=AV_TOOL) as server:
        yield server


@pytest.fixture(scope="session")
def rtsp_archive(av_server: RtspLoopServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 5 s of the H.264+AAC camera recorded live, in 2 s segments."""
    from recorder_helpers import record_for, segments

    archive = tmp_path_factory.mktemp("rtsp-archive")
    started = time.time()
    rec = record_for("cam-a", av_server.url("aac"), archive, seconds=5.5, segment_s=2)
    assert rec.stats.segments >= 2, rec.stats
    assert all(started - 1.5 < s.start < time.time() for s in segments(archive)), "wall-clock times"
    return archive
