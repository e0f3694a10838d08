"""Time on a connection: a burst at connect does not date the recording late, a camera clock that
drifts from the box's is followed, a break in the stream time is a gap, equal stamps are kept."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from custodywatch.recorder.camera import CameraRecorder
from custodywatch.recorder.index import ArchiveIndex, GapCause
from custodywatch.recorder.segment import SegmentWriter
from custodywatch.recorder.timeline import StreamClock, WindowMin


class FakeWall:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def packet(stream: av.stream.Stream, t: float) -> av.Packet:
    p = av.Packet(b"\x00" * 10)
    p.time_base = Fraction(1, 90000)
    p.dts = p.pts = round(t * 90000)
    return p


def test_window_min_forgets_old_values() -> None:
    w = WindowMin(window_s=10)
    assert w.add(0.0, 5.0) == 5.0
    assert w.add(5.0, 7.0) == 5.0
    assert w.add(12.0, 8.0) == 7.0, "the value from t=0 left the window"


def test_a_burst_at_connect_and_a_slow_camera_clock() -> None:
    wall = FakeWall()
    clock = StreamClock(wall)
    with av.open("/dev/null", "w", format="mp4") as out:
        video = out.add_stream("mpeg4", rate=25)
        start = wall.now
        # 1 s of buffered packets arrive at once when the client joins...
        for i in range(25):
            clock.admit(packet(video, i / 25))
        # ...then the live stream, one packet per 40 ms, each 5 ms in transit.
        for i in range(25, 100):
            wall.now = start + (i - 25) / 25 + 1.0 + 0.005 - 1.0
            clock.admit(packet(video, i / 25))
        # Frame 25 was captured at `start` (the live edge when the client joined).
        assert abs(clock.to_wall(25 / 25) - start) < 0.01
        # A camera clock 0.1 % slow (86 s a day): the mapping lags by at most the window's share of
        # the drift (60 s x 0.1 % = 0.06 s), and does not grow with time as a fixed anchor would.
        errors = []
        for minutes in (2, 4):
            last = 100 + 25 * 60 * minutes
            for i in range(last - 25 * 120, last):
                wall.now = start + (i - 25) / 25 * 1.001 + 0.005
                clock.admit(packet(video, i / 25))
            errors.append(abs(clock.to_wall((last - 1) / 25) - (wall.now - 0.005)))
        assert errors[0] < 0.07 and abs(errors[1] - errors[0]) < 0.005, errors


def _video_with_a_break(path: Path) -> Path:
    """6 s of H.264 (keyframe every second) whose timestamps jump 15 s after frame 60."""
    with av.open(str(path), "w", format="mp4") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
        s.options = {"bf": "0", "g": "25", "x264-params": "scenecut=0:log-level=error"}
        for i in range(150):
            frame = av.VideoFrame.from_ndarray(np.full((240, 320, 3), i % 255, np.uint8), format="bgr24")
            frame.pts, frame.time_base = (i if i < 60 else i + 25 * 15), Fraction(1, 25)
            out.mux(s.encode(frame))
        out.mux(s.encode(None))
    return path


def test_a_break_in_the_stream_time_is_a_gap_and_every_packet_is_accounted(tmp_path: Path) -> None:
    rec = CameraRecorder("cam-j", str(_video_with_a_break(tmp_path / "break.mp4")),
                         ArchiveIndex(tmp_path / "archive"), segment_s=60)
    rec.run(once=True)
    first, gap, second = ArchiveIndex(tmp_path / "archive").records()
    assert first.type == "segment" and abs((first.end - first.start) - 2.4) < 0.01, "no claim on the break"
    assert gap.type == "gap" and gap.cause is GapCause.STREAM_ERROR
    assert abs((gap.end - gap.start) - 15.6) < 0.01, "the break and the frames until the next keyframe"
    assert second.type == "segment" and second.start == gap.end
    assert rec.stats.packets_in == 150 == rec.stats.accounted
    assert (rec.stats.packets_written, rec.stats.skipped_before_keyframe) == (135, 15)


def test_packets_stamped_alike_are_all_written(media: dict[str, Path], tmp_path: Path) -> None:
    with av.open(str(media["aac"])) as c:
        video = c.streams.video[0]
        writer = None
        previous = None
        for i, p in enumerate(c.demux(video)):
            if p.dts is None or not p.size:
                continue
            if i % 10 == 5 and previous is not None:
                p.dts = p.pts = previous  # as a jittery sender stamps two frames alike
            previous = p.dts
            t = float(p.dts * p.time_base)
            if writer is None:
                writer = SegmentWriter(tmp_path / "seg.mp4", [video], t)
            writer.write(p, t, 0.04)
        assert writer is not None
        done = writer.close()
    with av.open(str(done.path)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 200 == done.packets


def test_the_time_the_recorder_was_down_is_a_gap_but_no_live_alarm(media: dict[str, Path],
                                                                   tmp_path: Path) -> None:
    index = ArchiveIndex(tmp_path / "archive")
    CameraRecorder("cam-r", str(media["aac"]), index, segment_s=60).run(once=True)
    events: list[str] = []

    class Listener:
        def record_appended(self, record: object) -> None:
            pass

        def loss_started(self, camera: str, since: float) -> None:
            events.append("started")

        def loss_ended(self, camera: str, since: float, until: float) -> None:
            events.append("ended")

    later = FakeWall()
    later.now = index.last("cam-r").end + 3600  # type: ignore[union-attr]
    CameraRecorder("cam-r", str(media["aac"]), index, segment_s=60, loss_after_s=5, listener=Listener(),
                   wall=later).run(once=True)
    gap = [r for r in index.records() if r.type == "gap"]
    assert len(gap) == 1 and gap[0].cause is GapCause.RECORDER_RESTART and gap[0].end - gap[0].start > 3500
    assert events == [], "video_loss is for losses while recording, not for the recorder's own downtime"
