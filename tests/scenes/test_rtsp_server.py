"""The RTSP loop server harness against the real GStreamer server and a real PyAV client."""
from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import av
import pytest

from custodywatch.rtsp_server import RtspLoopServer, RtspServerError, default_python, default_tool
from custodywatch.scenes.catalog import ScenePaths

FRAMES_TO_READ = 20

pytestmark = pytest.mark.skipif(not (default_tool().is_file() and default_python().is_file()),
                                reason="RTSP loop server or its venv missing: run scripts/setup.sh")


def read_frames(url: str, count: int) -> list[av.VideoFrame]:
    frames = []
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=(5, 5)) as container:
        for frame in container.decode(video=0):
            frames.append(frame)
            if len(frames) == count:
                break
    return frames


def process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def port_is_closed(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


def test_a_scene_is_served_live_and_stop_leaves_nothing_running(scene) -> None:
    paths: ScenePaths = scene("demo_interrogation_loop")
    with RtspLoopServer({"cam-i1": paths.video}) as server:
        pid, port = server.pid, server.port
        assert pid is not None and port is not None
        url = server.url("cam-i1")
        assert url == f"rtsp://127.0.0.1:{port}/cam-i1"
        frames = read_frames(url, FRAMES_TO_READ)
    assert len(frames) == FRAMES_TO_READ
    assert {(f.width, f.height) for f in frames} == {(640, 360)}
    times = [f.time for f in frames if f.time is not None]
    assert times == sorted(times) and len(set(times)) == len(times), "live timestamps only go forward"
    assert process_is_gone(pid)
    assert port_is_closed("127.0.0.1", port)


def test_several_cameras_are_served_by_one_server(scene) -> None:
    mounts = {"interrogation": scene("interrogation_officer_leaves").video,
              "holding": scene("holding_guard_leaves").video}
    with RtspLoopServer(mounts) as server:
        for mount in mounts:
            assert len(read_frames(server.url(mount), 3)) == 3, mount


def test_a_killed_server_refuses_clients_and_comes_back_on_the_same_url(scene) -> None:
    with RtspLoopServer({"cam": scene("holding_guard_leaves").video}) as server:
        url, old_pid = server.url("cam"), server.pid
        assert old_pid is not None
        server.kill()
        assert process_is_gone(old_pid)
        with pytest.raises(ConnectionRefusedError):
            read_frames(url, 1)
        server.start()
        assert server.url("cam") == url and server.pid != old_pid
        assert len(read_frames(url, 3)) == 3
        server.restart()
        assert len(read_frames(url, 3)) == 3


def test_a_client_reading_when_the_server_dies_sees_the_stream_end_at_once(scene) -> None:
    read_timeout_s = 5
    with RtspLoopServer({"cam": scene("holding_guard_leaves").video}) as server:
        options = {"rtsp_transport": "tcp"}
        with av.open(server.url("cam"), options=options, timeout=(5, read_timeout_s)) as container:
            killed_at = None
            for _ in container.decode(video=0):
                if killed_at is None:
                    server.kill()
                    killed_at = time.monotonic()
            assert killed_at is not None
            # The stream ends because the connection closed, not because a read timed out.
            assert time.monotonic() - killed_at < read_timeout_s - 1


def test_a_missing_server_venv_says_how_to_install_it(scene, tmp_path: Path) -> None:
    server = RtspLoopServer({"cam": scene("holding_guard_leaves").video}, python=tmp_path / "python")
    with pytest.raises(RtspServerError, match="run scripts/setup.sh"):
        server.start()
    assert server.pid is None


def test_a_python_without_gstreamer_says_how_to_install_it(scene) -> None:
    # The project venv has no `gi`: the tool fails to import it.
    server = RtspLoopServer({"cam": scene("holding_guard_leaves").video}, python=Path(sys.executable))
    with pytest.raises(RtspServerError, match="run scripts/setup.sh"):
        server.start(timeout=10)
    assert server.pid is None


def test_a_missing_tool_or_video_is_named(scene, tmp_path: Path) -> None:
    with pytest.raises(RtspServerError, match="rtsp_loop_server.py"):
        RtspLoopServer({"cam": scene("holding_guard_leaves").video},
                       tool=tmp_path / "rtsp_loop_server.py").start()
    with pytest.raises(RtspServerError, match="nothing.mp4"):
        RtspLoopServer({"cam": tmp_path / "nothing.mp4"}).start()
