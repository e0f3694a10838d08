"""Readers against real files and the real RTSP server: the right frames, at the right times,
decoded no more than needed, and cameras that come back after an outage or a stall."""
from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import zmq
from numbered import decoded_frames, frame_number, write_numbered

from custodywatch.pipeline.messages import FrameReady
from custodywatch.pipeline.reader import CameraSource, CameraThread
from custodywatch.pipeline.shm import FrameRingReader
from custodywatch.pipeline.source import KeyframeGate, SourceCounters, read_frames
from custodywatch.rtsp_server import RtspLoopServer

FPS = 10
# The loop server has about 2.4 s of stream in flight to a client (seen: packets keep arriving that
# long after it is stopped), which a stall check can only see once it has drained.
READ_TIMEOUT_S = 3.0


@pytest.fixture(scope="module")
def numbered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s at 10 fps with a keyframe every second."""
    return write_numbered(tmp_path_factory.mktemp("numbered") / "numbered.mp4", FPS, gop=FPS, frames=200)


@pytest.fixture(scope="module")
def file_frames(numbered: Path) -> list[np.ndarray]:
    return decoded_frames(numbered)


@pytest.mark.parametrize(
    "fps, keyframes, expected",
    [
        (1, [0, 1, 2, 3], [False, False, True, True]),  # 1 s GOP at 1 fps: only keyframes needed
        (2, [0, 1, 2, 3], [False, False, False, False]),  # 2 fps needs frames between keyframes
        (0.5, [0, 2, 4, 6], [False, False, True, True]),
        (1, [0, 1, 2, 4.5], [False, False, True, False]),  # the GOP grew: decode everything again
    ],
)
def test_keyframe_gate_allows_keyframes_only_when_every_period_has_one(fps, keyframes, expected):
    gate = KeyframeGate(fps)
    assert [gate.keyframe(t) for t in keyframes] == expected


def test_keyframe_only_decoding_yields_the_same_frames_for_far_less(numbered: Path) -> None:
    full, gated = SourceCounters(), SourceCounters()
    every = [frame_number(f.image) for f in read_frames("cam", str(numbered), 1, counters=full,
                                                        keyframe_gate=False)]
    keyframes = [frame_number(f.image) for f in read_frames("cam", str(numbered), 1, counters=gated)]
    assert keyframes == every == list(range(0, 200, FPS))
    assert full.decoded == 200
    # Two GOPs decoded in full while the gate measures the keyframe interval, then keyframes only.
    assert gated.decoded <= 2 * FPS + 20
    assert gated.received == full.received == 200


def test_file_frames_carry_their_own_timestamps(numbered: Path, file_frames: list[np.ndarray]) -> None:
    frames = list(read_frames("cam", str(numbered), 2))
    assert [frame_number(f.image) for f in frames] == list(range(0, 200, 5))
    for f in frames:
        n = frame_number(f.image)
        assert f.stream_s == pytest.approx(n / FPS, abs=1e-6)
        assert np.array_equal(f.image, file_frames[n])


@pytest.fixture
def server(numbered: Path) -> Iterator[RtspLoopServer]:
    with RtspLoopServer({"cam": numbered}) as s:
        yield s


def test_stream_frames_are_the_files_frames_with_stream_timestamps(
        server: RtspLoopServer, file_frames: list[np.ndarray]) -> None:
    started = time.time()
    frames = []
    for frame in read_frames("cam", server.url("cam"), 5, open_timeout_s=5, read_timeout_s=5):
        frames.append(frame)
        if len(frames) == 12:
            break
    numbers = [frame_number(f.image) for f in frames]
    for f, n in zip(frames, numbers, strict=True):
        # The server sends the file's bitstream untouched: decoding it gives the same pixels.
        assert np.array_equal(f.image, file_frames[n]), n
    for (a, na), (b, nb) in zip(zip(frames, numbers, strict=True), zip(frames[1:], numbers[1:], strict=True),
                                strict=False):
        if nb > na:  # not across the loop's wrap
            # The server re-stamps packets on its own clock as it paces them: a few ms of jitter, some
            # tens on a loaded machine; a frame's worth would be a frame lost or stamped twice.
            assert b.stream_s - a.stream_s == pytest.approx((nb - na) / FPS, abs=0.5 / FPS)
    # Wall time is the arrival of the first frame plus stream time: it tracks the real clock.
    assert frames[0].wall == pytest.approx(started, abs=4)
    assert frames[-1].wall == pytest.approx(time.time(), abs=1.0)


class _Collector:
    """What a detector worker would receive from one camera thread."""

    def __init__(self, endpoint: str):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.PULL)
        self.sock.bind(endpoint)
        self.frames = FrameRingReader()

    def next(self, timeout_s: float) -> tuple[FrameReady, np.ndarray] | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.sock.poll(100):
                msg: FrameReady = self.sock.recv_pyobj()
                image = self.frames.read(msg.handle)
                if image is not None:
                    return msg, image
        return None

    def drain(self) -> None:
        while self.sock.poll(0):
            self.sock.recv_pyobj()

    def close(self) -> None:
        self.frames.close()
        self.ctx.destroy(linger=0)


@pytest.fixture
def camera(server: RtspLoopServer, tmp_path: Path) -> Iterator[tuple[CameraThread, _Collector]]:
    endpoint = f"ipc://{tmp_path / 'frames'}"
    collector = _Collector(endpoint)
    stop = threading.Event()
    thread = CameraThread(CameraSource("cam", server.url("cam"), 2), collector.ctx, endpoint,
                          f"test{os.getpid()}", stop, open_timeout_s=3, read_timeout_s=READ_TIMEOUT_S)
    thread.start()
    yield thread, collector
    stop.set()
    thread.join(10)
    collector.close()


def _wait(condition, timeout_s: float) -> float:
    """Seconds until `condition()` held; fails after `timeout_s`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout_s, "condition not reached in time"
        time.sleep(0.05)
    return time.monotonic() - started


def test_reader_reconnects_after_the_server_is_killed_and_restarted(server, camera) -> None:
    thread, collector = camera
    first = collector.next(15)
    assert first is not None
    assert thread.snapshot().connected
    server.kill()
    _wait(lambda: not thread.snapshot().connected, 10)
    collector.drain()
    server.restart()
    resumed = collector.next(30)
    assert resumed is not None, "frames did not resume after the server came back"
    msg, image = resumed
    health = thread.snapshot()
    assert health.connected
    assert health.reconnects >= 1
    # A new connection: a new timestamp mapping, anchored on the real clock again.
    assert msg.wall == pytest.approx(time.time(), abs=1.5)
    assert 0 <= frame_number(image) < 200


def test_stalled_server_marks_the_camera_disconnected_within_twice_the_read_timeout(server, camera) -> None:
    thread, collector = camera
    assert collector.next(15) is not None
    _wait(lambda: thread.snapshot().connected, 5)
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)
    try:
        stalled_for = _wait(lambda: not thread.snapshot().connected, 10)
    finally:
        os.kill(server.pid, signal.SIGCONT)
    assert stalled_for <= 2 * READ_TIMEOUT_S
    assert collector.next(30) is not None, "frames did not resume after the stall"
