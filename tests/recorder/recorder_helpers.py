"""Small readers a test uses to see what a user would: streams, frames, tones, index records."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from custodywatch.paths import project_root
from custodywatch.recorder.camera import CameraRecorder
from custodywatch.recorder.index import ArchiveIndex, DeletionRecord, GapRecord, SegmentRecord
from custodywatch.recorder.testmedia import read_code
from custodywatch.rtsp_server import default_python

AnyRecord = SegmentRecord | GapRecord | DeletionRecord
AV_TOOL = project_root() / "scripts" / "rtsp_av_loop_server.py"
needs_rtsp = pytest.mark.skipif(not default_python().is_file(),
                                reason="the RTSP server's venv is missing: run scripts/setup.sh")


def env_with_data(data: Path) -> dict[str, str]:
    return {**os.environ, "CUSTODYWATCH_DATA": str(data)}


def records(archive: Path) -> list[AnyRecord]:
    return list(ArchiveIndex(archive).records())


def segments(archive: Path) -> list[SegmentRecord]:
    return [r for r in records(archive) if isinstance(r, SegmentRecord)]


def gaps(archive: Path) -> list[GapRecord]:
    return [r for r in records(archive) if isinstance(r, GapRecord)]


def codecs(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        return [s.codec_context.name for s in c.streams]


def frame_codes(path: Path) -> list[tuple[float, int]]:
    """(presentation time, frame index shown in the picture) of every decoded frame."""
    with av.open(str(path)) as c:
        return [(float(f.time or 0.0), read_code(f.to_ndarray(format="gray"))) for f in c.decode(video=0)]


def dominant_hz(path: Path) -> float:
    """The loudest frequency of the file's audio (the fixtures carry a 440 Hz tone)."""
    chunks = []
    rate = 0
    with av.open(str(path)) as c:
        for frame in c.decode(audio=0):
            rate = frame.sample_rate
            chunks.append(frame.to_ndarray().astype(np.float64).mean(axis=0))
    samples = np.concatenate(chunks)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(spectrum.argmax())])


def record_for(camera: str, url: str, archive: Path, seconds: float, segment_s: float = 60.0,
               **kwargs: object) -> CameraRecorder:
    recorder = CameraRecorder(camera, url, ArchiveIndex(archive), segment_s=segment_s, **kwargs)  # type: ignore[arg-type]
    recorder.run(until=time.time() + seconds)
    return recorder


def record_in_background(recorder: CameraRecorder) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run, args=(stop,), daemon=True)
    thread.start()
    return thread, stop


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FIRST_FRAME_PAGE = Path(__file__).with_name("web") / "first_frame.html"


def chromium_frames(clip: Path, workdir: Path) -> dict[str, Any]:
    """Play `clip` in headless Chromium: the frame index it shows at time 0 and after seeking to 1 s
    (read from the picture the browser drew, as a viewer would see it)."""
    assert CHROMIUM is not None
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(clip, workdir / "clip.mp4")
    shutil.copy(FIRST_FRAME_PAGE, workdir / "page.html")
    for _ in range(3):
        # On a busy machine the page may not have loaded the video when the budget ends: try again.
        run = subprocess.run(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
             "--virtual-time-budget=20000", "--dump-dom", (workdir / "page.html").as_uri()],
            capture_output=True, text=True, timeout=90)
        found = re.search(r'<pre id="out">([^<]*)</pre>', run.stdout)
        assert found is not None, run.stderr[-2000:]
        if found.group(1) != "pending":
            result: dict[str, Any] = json.loads(found.group(1))
            return result
    raise AssertionError(f"Chromium never loaded {clip}: {run.stderr[-2000:]}")
