"""End to end: `video_loss` raised by the live pipeline and cleared when video returns, for a
covered lens in the stream and for a camera (RTSP server) that stalls."""
from __future__ import annotations

import os
import signal
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
import yaml
from service_process import add_user, login, start_service, stop_within, wait_ready, wait_until

from custodywatch.rtsp_server import RtspLoopServer

FPS = 10
LOSS_AFTER_S = 4
SECONDS = {"seen": 14, "covered": 12, "seen again": 14, "frozen": 12, "seen at last": 14}


def write_covered_camera(path: Path) -> Path:
    """A room with some life in it (sensor noise); the lens covered for a while, then the decoder
    frozen on one picture (the same frame repeated) for a while."""
    rng = np.random.default_rng(3)
    room = np.repeat(np.repeat(rng.integers(30, 220, (45, 80, 3), np.uint8), 8, axis=0), 8, axis=1)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height = 640, 360
        stream.pix_fmt = "yuv420p"
        stream.options = {"bf": "0", "g": str(FPS), "preset": "veryfast"}
        n = 0
        for phase, seconds in SECONDS.items():
            for _ in range(seconds * FPS):
                if phase == "covered":
                    image = np.full((360, 640, 3), 4, np.uint8)
                elif phase == "frozen":
                    pass  # the previous picture again
                else:
                    noise = rng.integers(-6, 7, room.shape, np.int16)
                    image = np.clip(room.astype(np.int16) + noise, 0, 255).astype(np.uint8)
                frame = av.VideoFrame.from_ndarray(image, format="bgr24")
                frame.pts, frame.time_base = n, Fraction(1, FPS)
                container.mux(stream.encode(frame))
                n += 1
        container.mux(stream.encode(None))
    return path


def _video_losses(base: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    items = httpx.get(base + "api/alerts", timeout=10, headers=headers).json()["items"]
    return [a for a in items if a["rule"] == "video_loss"]


@pytest.fixture
def service(tmp_path: Path):
    video = write_covered_camera(tmp_path / "covered.mp4")
    with RtspLoopServer({"cam-c1": video}) as server:
        cfg = {
            "site": {"id": "test", "box_id": "box1"},
            "rooms": [{"id": "corridor-1", "type": "corridor",
                       # No cooldown: the stall follows the covered lens within seconds.
                       "rules": {"video_loss": {"after_s": LOSS_AFTER_S, "cooldown_s": 0}}}],
            "cameras": [{"id": "cam-c1", "room": "corridor-1", "detect_url": server.url("cam-c1"), "fps": 2}],
        }
        config = tmp_path / "cameras.yaml"
        config.write_text(yaml.safe_dump(cfg))
        env = dict(os.environ, CUSTODYWATCH_DATA=str(tmp_path / "data"))
        add_user(env)
        log_path = tmp_path / "service.log"
        with log_path.open("w") as log:
            proc = start_service(config, env, log)
            try:
                base = wait_ready(proc)
                yield base, login(base), server, log_path
            finally:
                stop_within(proc, signal.SIGTERM)


def test_covered_lens_and_stalled_camera_raise_video_loss_and_clear_when_video_returns(service) -> None:
    base, headers, server, log = service

    def losses() -> list[dict[str, Any]]:
        return _video_losses(base, headers)

    loop_s = sum(SECONDS.values())
    # Once per loop of the file the lens is covered, and later the picture freezes: each an alert
    # that fires, names why, and ends when the picture comes back.
    def ended(reason: str) -> list[dict[str, Any]]:
        return [a for a in losses() if a["ended_at"] is not None and reason in a["detail"]]

    for reason, phase in (("lens covered", "covered"), ("frozen picture", "frozen")):
        ended_alerts, _ = wait_until(f"video_loss for {reason}, ended", lambda r=reason: ended(r),
                                     2 * loop_s + 30, log, poll_s=1)
        alert = ended_alerts[0]
        assert alert["camera"] == "cam-c1" and alert["severity"] == "alarm"
        held = alert["ended_at_epoch"] - alert["condition_started_at_epoch"]
        assert SECONDS[phase] - 3 <= held <= SECONDS[phase] + 8, alert
        fired_after = alert["fired_at_epoch"] - alert["condition_started_at_epoch"]
        assert fired_after == pytest.approx(LOSS_AFTER_S, abs=1), alert

    # Now the camera stops sending (server stalled with its socket open).
    seen = {a["id"] for a in losses()}
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)
    stalled_at = time.time()
    try:
        fresh, _ = wait_until("video_loss for the stalled camera",
                              lambda: [a for a in losses() if a["id"] not in seen and a["active"]],
                              40, log, poll_s=1)
    finally:
        os.kill(server.pid, signal.SIGCONT)
    # Fired within the threshold of the last frame plus the server's in-flight backlog (~2.5 s).
    assert fresh[0]["fired_at_epoch"] - stalled_at <= LOSS_AFTER_S + 8
    wait_until("the stall's video_loss ending once frames return",
               lambda: [a for a in losses() if a["id"] == fresh[0]["id"] and not a["active"]], 60, log,
               poll_s=1)
