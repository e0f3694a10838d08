"""Clips: cut without re-encoding, first frame at the requested time (±1 frame), browser-ready MP4
(moov first, H.264 + AAC), from the CLI with relative or ISO times."""
from __future__ import annotations

import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest
from recorder_helpers import CHROMIUM, chromium_frames, codecs, frame_codes, needs_rtsp, segments
from sqlalchemy import Engine

from custodywatch.cli import main
from custodywatch.config import RecorderConfig
from custodywatch.recorder.alert_clips import AlertClipper
from custodywatch.recorder.clips import snapshot
from custodywatch.recorder.index import ArchiveIndex
from custodywatch.recorder.testmedia import read_code
from custodywatch.rules.events import AlertEvent, EventKind
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate
from custodywatch.vocabulary import RuleId, Severity

pytestmark = needs_rtsp
FRAME_S = 1 / 25


@pytest.fixture
def alert_engine(tmp_path: Path) -> Iterator[Engine]:
    """The box's store (SQLite, migrated), where the clipper finds the alerts to clip."""
    engine = make_engine(f"sqlite:///{tmp_path / 'custodywatch.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def top_level_boxes(path: Path) -> list[str]:
    kinds, pos, size = [], 0, path.stat().st_size
    with path.open("rb") as f:
        while pos < size:
            f.seek(pos)
            box_size, kind = struct.unpack(">I4s", f.read(8))
            if box_size == 1:
                box_size = struct.unpack(">Q", f.read(8))[0]
            kinds.append(kind.decode())
            pos += box_size
    return kinds


def shown_at(archive: Path, wall: float) -> int:
    """The frame index on screen at `wall` in the archive (the last frame starting at or before it)."""
    seg = next(s for s in segments(archive) if s.start <= wall < s.end)
    shown = None
    for t, code in frame_codes(archive / seg.path):
        if seg.start + t <= wall + 1e-6:
            shown = code
    assert shown is not None
    return shown


@pytest.mark.parametrize("offset", [0.5, 1.99, 2.7])
def test_a_clip_starts_on_the_requested_frame_and_plays_in_a_browser_container(
        rtsp_archive: Path, offset: float, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    origin = segments(rtsp_archive)[0].start
    out = tmp_path / "clip.mp4"
    assert main(["clip", str(rtsp_archive), "--start", str(offset), "--end", str(offset + 1.5),
                 "-o", str(out)]) == 0
    assert capsys.readouterr().err == "", "no gap, nothing converted"
    frames = frame_codes(out)
    first_time, first_code = frames[0]
    assert abs(first_time) < 1e-3, "the edit list makes the requested frame the first one shown"
    assert abs(first_code - shown_at(rtsp_archive, origin + offset)) <= 1
    # Time 0 is the frame on screen at the start, up to one frame (as received: the live stream's
    # frames are not evenly spaced) before it.
    step = max(b[0] - a[0] for a, b in zip(frames, frames[1:], strict=False))
    assert 1.5 - 3 * FRAME_S <= frames[-1][0] <= 1.5 + step, "the clip lasts as asked"
    assert codecs(out) == ["h264", "aac"]
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat"), "moov first: plays while it loads"
    with av.open(str(out)) as c:
        assert sum(1 for p in c.demux(video=0) if p.size and p.is_keyframe) >= 1


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup.sh installs it)")
def test_a_clip_plays_in_chromium_from_the_requested_frame(rtsp_archive: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    origin = segments(rtsp_archive)[0].start
    out = tmp_path / "clip.mp4"
    # Mid-GOP: the clip holds frames before the start, which the edit list must hide.
    assert main(["clip", str(rtsp_archive), "--start", "1.5", "--end", "3.5", "-o", str(out)]) == 0
    shown = chromium_frames(out, tmp_path / "web")
    assert shown["first"]["time"] == 0
    assert abs(shown["first"]["code"] - shown_at(rtsp_archive, origin + 1.5)) <= 1
    at_1s = [code for t, code in frame_codes(out) if t <= 1.0 + 1e-6][-1]
    assert abs(shown["later"]["code"] - at_1s) <= 1, "seeking shows the frame FFmpeg shows there"
    assert 1.85 < shown["first"]["duration"] < 2.15


def test_iso_times_and_a_snapshot_of_the_requested_frame(rtsp_archive: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    origin = segments(rtsp_archive)[0].start
    start = datetime.fromtimestamp(origin + 1.3, UTC).isoformat()
    end = datetime.fromtimestamp(origin + 2.3, UTC).isoformat()
    out = tmp_path / "clip.mp4"
    assert main(["clip", str(rtsp_archive), "--start", start, "--end", end, "-o", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    jpeg = snapshot(out, 0.5, tmp_path / "snapshot.jpg")
    import cv2

    image = cv2.imread(str(jpeg))
    assert image is not None and image.shape == (360, 640, 3)
    assert abs(read_code(image) - shown_at(rtsp_archive, origin + 1.8)) <= 1


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--start", "3", "--end", "2"], 2, "--end (2) must be after --start (3)"),
    (["--start", "soon", "--end", "2"], 2, "--start: 'soon' is neither seconds nor an ISO-8601 time"),
    (["--start", "1", "--end", "2", "--camera", "cam-z"], 2, "no camera 'cam-z'"),
    (["--start", "500", "--end", "510"], 1, "nothing was recorded in the requested range"),
])
def test_bad_clip_requests_are_named(rtsp_archive: Path, tmp_path: Path, args: list[str], code: int,
                                     message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clip", str(rtsp_archive), *args, "-o", str(tmp_path / "c.mp4")]) == code
    assert message in capsys.readouterr().err
    assert not (tmp_path / "c.mp4").exists()


def test_clip_of_something_that_is_not_an_archive_is_exit_2(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clip", str(tmp_path), "--start", "0", "--end", "1", "-o", str(tmp_path / "c.mp4")]) == 2
    assert f"{tmp_path}: not an archive directory" in capsys.readouterr().err


def test_an_alert_snapshot_outlines_the_people_analytics_saw_in_their_role_colours(
        rtsp_archive: Path, tmp_path: Path, alert_engine: Engine) -> None:
    import cv2
    import numpy as np

    from custodywatch.recorder.snapshot_boxes import ROLE_COLOURS, line_width
    from custodywatch.rules.person_boxes import PersonBox
    from custodywatch.store.alert_boxes import AlertBoxStore

    engine = alert_engine
    first = segments(rtsp_archive)[0]
    fired = first.start + 1.8
    AlertStore(engine, "site", "box1").apply(AlertEvent(
        "fired", "a-boxes", RuleId.SINGLE_OFFICER, "interrogation-1", first.camera, Severity.ALARM, fired - 1,
        fired))
    detainee = PersonBox(0.55, 0.30, 0.90, 0.90, "detainee", "detainee_seat")
    officer = PersonBox(0.10, 0.20, 0.40, 0.80, "officer", "officer_area")
    AlertBoxStore(engine).save("a-boxes", first.camera, fired - 0.1, [detainee, officer])

    clips = tmp_path / "clips"
    AlertClipper(engine, ArchiveIndex(rtsp_archive), clips, RecorderConfig(pre_roll_s=0.5, post_roll_s=1)
                 ).poll(fired + 60)
    boxed = cv2.imread(str(clips / "a-boxes" / "snapshot.jpg")).astype(int)
    # The same frame without boxes: the clip starts 1.5 s before the fire time (pre-roll 0.5 s).
    plain_jpeg = snapshot(clips / "a-boxes" / "first.mp4", 1.5, tmp_path / "plain.jpg")
    plain = cv2.imread(str(plain_jpeg)).astype(int)
    assert boxed.shape == plain.shape == (360, 640, 3)
    h, w = boxed.shape[:2]
    half = line_width(boxed) // 2
    for box in (detainee, officer):
        x1, y1, x2, y2 = (round(box.x1 * (w - 1)), round(box.y1 * (h - 1)),
                          round(box.x2 * (w - 1)), round(box.y2 * (h - 1)))
        colour = np.array(ROLE_COLOURS[box.role])
        mid_y, mid_x = (y1 + y2) // 2, (x1 + x2) // 2
        # On each side of the outline, at the stored coordinates: the role's colour (JPEG-close).
        for y, x in ((mid_y, x1), (mid_y, x2), (y2, mid_x)):
            assert np.abs(boxed[y, x] - colour).max() < 60, (box.role, y, x, boxed[y, x])
        # Beyond the outline and inside the box, the picture is as recorded.
        for y, x in ((mid_y, x1 - half - 6), (mid_y, x2 + half + 6), (mid_y, mid_x)):
            assert np.abs(boxed[y, x] - plain[y, x]).max() < 30, (box.role, y, x)
    assert np.abs(boxed - plain).max() > 100, "the boxes are drawn"


def test_an_alert_stored_late_after_a_database_outage_still_gets_its_clip(
        rtsp_archive: Path, tmp_path: Path, alert_engine: Engine) -> None:
    engine = alert_engine
    first = segments(rtsp_archive)[0]
    fired = first.start + 1.8
    now = fired + 3600.0  # the box's clock, an hour on

    def stored_at(at: float, alert_id: str, kind: EventKind = "fired", when: float = fired) -> None:
        AlertStore(engine, "site", "box1", clock=lambda: at).apply(AlertEvent(
            kind, alert_id, RuleId.GUARD_ABSENT, "holding-1", first.camera, Severity.WARNING,
            fired - 1, when))

    stored_at(fired + 0.5, "on-time")
    stored_at(fired + 1.5, "on-time", "ended", fired + 1)
    clips = tmp_path / "clips"
    clipper = AlertClipper(engine, ArchiveIndex(rtsp_archive), clips,
                           RecorderConfig(pre_roll_s=0.5, post_roll_s=1))
    clipper.poll(now)
    assert (clips / "on-time" / "final.mp4").exists()  # all its clips: the clipper is done with it
    # Fired at the same moment, but written an hour late (the backlog of an outage): its fire time
    # is long past everything the clipper has finished with.
    stored_at(now + 1, "late")
    clipper.poll(now + 2)
    assert (clips / "late" / "first.mp4").exists()


def test_a_clip_whose_end_is_not_written_yet_waits_for_it_instead_of_coming_out_short(
        rtsp_archive: Path, tmp_path: Path, alert_engine: Engine) -> None:
    # A camera's next fragment lands one keyframe interval after the last: at a 2 s interval the
    # post-roll's last fraction of a second may not be written when the clip is first due.
    last = segments(rtsp_archive)[-1]
    post_roll = 1.0
    fired = last.end - post_roll + 0.3
    AlertStore(alert_engine, "site", "box1").apply(AlertEvent(
        "fired", "a-tail", RuleId.SINGLE_OFFICER, "interrogation-1", last.camera, Severity.ALARM, fired - 1,
        fired))
    clips = tmp_path / "clips"
    clipper = AlertClipper(alert_engine, ArchiveIndex(rtsp_archive), clips,
                           RecorderConfig(pre_roll_s=0.5, post_roll_s=post_roll))
    clipper.poll(fired + post_roll + 2)
    assert not (clips / "a-tail" / "first.mp4").exists(), "cut before its end was written"
    # Never written (the camera went away): after a minute the clip keeps what there is.
    clipper.poll(fired + post_roll + 61)
    with av.open(str(clips / "a-tail" / "first.mp4")) as c:
        shown = float(c.duration or 0) / 1e6
    assert shown == pytest.approx(last.end - (fired - 1 - 0.5), abs=0.1)
