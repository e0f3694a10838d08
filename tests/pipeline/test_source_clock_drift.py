"""A camera's clock drift against the box's: unknown until the mapping settled, then measured."""
from __future__ import annotations

from pathlib import Path

import pytest

from custodywatch.pipeline import source
from custodywatch.pipeline.source import SourceCounters, read_frames
from custodywatch.recorder.testmedia import MediaSpec, write_media


def test_a_stream_paced_by_the_box_clock_shows_no_drift_once_settled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "DRIFT_SETTLE_S", 1.0)
    video = write_media(tmp_path / "cam.mp4", MediaSpec(seconds=3.0, fps=10, width=320, height=180))
    counters = SourceCounters()
    seen: list[tuple[float, float | None]] = []
    # Read in real time, as a live camera arrives: the stream's clock is the box's, so no drift.
    for frame in read_frames("cam", str(video), 5.0, realtime_files=True, counters=counters):
        seen.append((frame.stream_s, counters.clock_drift_s))
    assert all(drift is None for t, drift in seen if t < 0.8)
    settled = [drift for t, drift in seen if t >= 1.2]
    assert settled and all(drift is not None and abs(drift) < 0.25 for drift in settled), seen
