"""Clips cut from the archive without re-encoding, starting at the requested time.

The clip begins at the keyframe at or before the requested start, and every timestamp is shifted
so the requested start is time 0: the frames before it get negative times, which the MP4 muxer
turns into an edit list, so a player decodes from the keyframe and shows the first frame at the
requested time. The moov box is written first (`faststart`), so a browser plays while loading.

Segments are joined while they follow one another; a gap (or any hole in the recording) ends the
clip there, and the result names it. Only what a browser cannot play is converted, in the clip,
never in the archive: H.265 video to H.264, and G.711 (or other non-AAC) audio to AAC.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from custodywatch.recorder.index import ArchiveIndex, DeletionRecord, GapRecord, SegmentRecord
from custodywatch.recorder.recovery import probe
from custodywatch.recorder.segment import PART_SUFFIX, start_from_name
from custodywatch.rules.person_boxes import PersonBox

log = logging.getLogger("custodywatch.recorder.clips")

EPS = 1e-6
CONTIGUOUS_S = 0.25  # a hole shorter than this between two segments is timestamp jitter, not a gap
LOOKBACK_S = 2 * 3600.0  # longer than the longest segment (segment_s <= 3600)
BROWSER_VIDEO = {"h264"}
BROWSER_AUDIO = {"aac"}


class ClipError(Exception):
    """No clip can be cut as asked (nothing recorded in the range, unreadable segment...)."""


@dataclass(frozen=True)
class Source:
    path: Path
    start: float  # wall-clock time of the file's time 0
    end: float


@dataclass(frozen=True)
class Hole:
    start: float
    end: float
    cause: str


@dataclass(frozen=True)
class Clip:
    path: Path
    camera: str
    start: float  # wall-clock time of the clip's first shown frame
    end: float  # wall-clock time where the clip ends
    requested: tuple[float, float]
    hole: Hole | None  # the gap that ended (or started) the clip early
    converted: list[str]  # what was converted for the browser, e.g. ["hevc->h264"]


def sources(index: ArchiveIndex, camera: str,
            since: float | None = None) -> tuple[list[Source], list[GapRecord]]:
    """The camera's recorded files in time order (the segment being written included), and its gaps.

    With `since`, only what ends after it: the index is read from its end back, since records are
    appended within one segment length of their end (deletions later, which reading backwards
    meets before the segments they delete).
    """
    segments: dict[str, SegmentRecord] = {}
    deleted: set[str] = set()
    gaps: list[GapRecord] = []
    records = index.records() if since is None else index.records_reversed()
    for rec in records:
        if since is not None and not isinstance(rec, DeletionRecord) and rec.end < since - LOOKBACK_S:
            break
        if rec.camera != camera:
            continue
        if isinstance(rec, SegmentRecord):
            segments[rec.path] = rec
        elif isinstance(rec, DeletionRecord):
            deleted.add(rec.path)
        else:
            gaps.append(rec)
    for path in deleted:
        segments.pop(path, None)
    found = [Source(index.archive / s.path, s.start, s.end) for s in segments.values()]
    for part in (index.archive / camera).glob(f"*/*{PART_SUFFIX}"):
        info = probe(part)
        if info is not None:
            start = start_from_name(part.name.removesuffix(PART_SUFFIX))
            found.append(Source(part, start, start + info.end_s))
    return sorted(found, key=lambda s: s.start), sorted(gaps, key=lambda g: g.start)


def plan(found: list[Source], gaps: list[GapRecord], start: float,
         end: float) -> tuple[list[Source], Hole | None]:
    """The run of contiguous files that covers [start, end] from its beginning, and the hole that
    interrupts it (if any)."""
    overlapping = [s for s in found if s.end > start and s.start < end]
    if not overlapping:
        raise ClipError("nothing was recorded in the requested range")
    run = [overlapping[0]]
    hole: Hole | None = None
    if overlapping[0].start > start + CONTIGUOUS_S:
        hole = _hole(gaps, start, overlapping[0].start)
    for nxt in overlapping[1:]:
        if nxt.start - run[-1].end > CONTIGUOUS_S:
            hole = _hole(gaps, run[-1].end, nxt.start)
            break
        run.append(nxt)
    else:
        if run[-1].end < end - CONTIGUOUS_S and hole is None:
            hole = _hole(gaps, run[-1].end, end)
    return run, hole


def _hole(gaps: list[GapRecord], start: float, end: float) -> Hole:
    for g in gaps:
        if g.start <= end and g.end >= start:
            return Hole(g.start, g.end, g.cause.value)
    return Hole(start, end, "not recorded")


def cut_clip(index: ArchiveIndex, camera: str, start: float, end: float, out: Path) -> Clip:
    if end <= start:
        raise ClipError(f"the clip's end ({end:.3f}) must be after its start ({start:.3f})")
    found, gaps = sources(index, camera, since=start)
    run, hole = plan(found, gaps, start, end)
    clip_start = max(start, run[0].start)
    clip_end = end
    if hole is not None and hole.start >= clip_start:
        clip_end = min(end, hole.start)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        converted, clip_start = _remux(run, clip_start, clip_end, partial)
    except (av.error.FFmpegError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise ClipError(f"cannot cut the clip: {exc}") from exc
    partial.replace(out)
    return Clip(out, camera, clip_start, clip_end, (start, end), hole, converted)


def _packets(run: list[Source]) -> Iterator[tuple[Source, av.Packet[av.stream.Stream]]]:
    for src in run:
        with av.open(str(src.path)) as c:
            for p in c.demux():
                if p.dts is not None and p.size:
                    yield src, p


def _remux(run: list[Source], start: float, end: float, path: Path) -> tuple[list[str], float]:
    """Write the clip; returns what was converted and the wall time of its first shown frame."""
    with av.open(str(run[0].path)) as first:
        templates = {s.type: s for s in first.streams if s.type in ("video", "audio")}
        video_codec = templates["video"].codec_context.name
        audio_codec = templates["audio"].codec_context.name if "audio" in templates else None
        converted = []
        with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            ov = (out.add_stream_from_template(templates["video"]) if video_codec in BROWSER_VIDEO
                  else _h264_encoder(out, templates["video"]))
            if video_codec not in BROWSER_VIDEO:
                converted.append(f"{video_codec}->h264")
            oa = None
            if audio_codec is not None:
                oa = (out.add_stream_from_template(templates["audio"]) if audio_codec in BROWSER_AUDIO
                      else _aac_encoder(out, templates["audio"]))
                if audio_codec not in BROWSER_AUDIO:
                    converted.append(f"{audio_codec}->aac")
            mux = _Mux(out, ov, oa, start, end, video_codec in BROWSER_VIDEO, audio_codec in BROWSER_AUDIO)
            mux.run(run)
    return converted, mux.start


def _h264_encoder(out: av.container.OutputContainer, template: av.stream.Stream) -> av.VideoStream:
    assert isinstance(template, av.VideoStream)
    rate = template.average_rate or template.guessed_rate or 25
    s = out.add_stream("libx264", rate=rate)
    s.width, s.height = template.codec_context.width, template.codec_context.height
    s.pix_fmt = "yuv420p"
    # The frames keep their own (irregular, as received) times, so the encoder needs a fine clock.
    s.codec_context.time_base = Fraction(1, 90000)
    s.options = {"preset": "veryfast", "crf": "20", "bf": "0"}
    return s


def _aac_encoder(out: av.container.OutputContainer, template: av.stream.Stream) -> av.AudioStream:
    assert isinstance(template, av.AudioStream)
    rate = template.codec_context.sample_rate or 8000
    s = out.add_stream("aac", rate=max(rate, 8000))
    s.layout = "mono"
    return s


class _Mux:
    """Writes packets (copied) or frames (converted) with wall time `start` at time 0."""

    def __init__(self, out: av.container.OutputContainer, video: av.stream.Stream,
                 audio: av.stream.Stream | None,
                 start: float, end: float, copy_video: bool, copy_audio: bool):
        self.out, self.video, self.audio = out, video, audio
        self.start, self.end = start, end
        self.copy_video, self.copy_audio = copy_video, copy_audio
        self.last_dts: dict[int, int] = {}
        # Video since the last keyframe before the start, held until the start is reached.
        self.gop: list[tuple[Source, av.Packet[av.stream.Stream]]] = []
        self.started = False
        self.shown_at: float | None = None
        self.held_audio: list[tuple[Source, av.Packet[av.stream.Stream], float]] = []

    def run(self, run: list[Source]) -> None:
        for src, p in _packets(run):
            tb = p.time_base
            assert tb is not None and p.dts is not None
            wall = src.start + float((p.pts if p.pts is not None else p.dts) * tb)
            if p.stream.type == "video":
                if wall >= self.end:
                    break
                self._video(src, p, wall)
            elif p.stream.type == "audio" and self.audio is not None and wall < self.end:
                if self.started:
                    if wall >= self.start:
                        self._audio(src, p)
                else:
                    self.held_audio.append((src, p, wall))
        if not self.copy_video:
            self._encode(self.video, None)
        if self.audio is not None and not self.copy_audio:
            self._encode(self.audio, None)

    def _video(self, src: Source, p: av.Packet[av.stream.Stream], wall: float) -> None:
        if self.started:
            self._write_video(src, p)
            return
        if wall > self.start + EPS and self.gop:
            # The held GOP ends with the frame on screen at the requested time: it becomes time 0.
            assert self.shown_at is not None
            self._begin(self.shown_at)
            self._write_video(src, p)
            return
        if p.is_keyframe:
            self.gop = []
        elif not self.gop:
            return  # no keyframe yet to decode from
        self.gop.append((src, p))
        self.shown_at = wall
        if wall >= self.start - EPS:
            # This frame is at the requested time, or the recording only starts here (after a gap).
            self._begin(wall)

    def _begin(self, start: float) -> None:
        self.started = True
        self.start = start
        held, self.gop = self.gop, []
        for s, q in held:
            self._write_video(s, q)
        audio, self.held_audio = self.held_audio, []
        for s, q, wall in audio:
            if wall >= start:
                self._audio(s, q)

    def _write_video(self, src: Source, p: av.Packet[av.stream.Stream]) -> None:
        if self.copy_video:
            self._copy(src, p, self.video)
            return
        for frame in p.decode():
            if not isinstance(frame, av.VideoFrame) or frame.pts is None or frame.time_base is None:
                continue
            wall = src.start + float(frame.pts * frame.time_base)
            if wall < self.start - 1e-6:
                continue
            pts = round((wall - self.start) * 90000)
            last = self.last_dts.get(self.video.index)
            pts = pts if last is None or pts > last else last + 1  # the encoder needs increasing times
            self.last_dts[self.video.index] = pts
            frame.pts = pts
            frame.time_base = Fraction(1, 90000)
            frame.pict_type = av.video.frame.PictureType.NONE
            self._encode(self.video, frame)

    def _audio(self, src: Source, p: av.Packet[av.stream.Stream]) -> None:
        assert self.audio is not None
        if self.copy_audio:
            self._copy(src, p, self.audio)
            return
        for frame in p.decode():
            if not isinstance(frame, av.AudioFrame) or frame.pts is None or frame.time_base is None:
                continue
            wall = src.start + float(frame.pts * frame.time_base)
            rate = frame.sample_rate
            frame.pts = round((wall - self.start) * rate)
            frame.time_base = Fraction(1, rate)
            self._encode(self.audio, frame)

    def _copy(self, src: Source, p: av.Packet[av.stream.Stream], stream: av.stream.Stream) -> None:
        tb = p.time_base
        assert tb is not None and p.dts is not None
        shift = round((self.start - src.start) / tb)
        dts = p.dts - shift
        pts = (p.pts if p.pts is not None else p.dts) - shift
        last = self.last_dts.get(stream.index)
        if last is not None and dts <= last:
            # Segment boundaries round independently: keep decode times strictly increasing.
            pts += last + 1 - dts
            dts = last + 1
        self.last_dts[stream.index] = dts
        p.dts, p.pts = dts, pts
        p.stream = stream
        self.out.mux_one(p)

    def _encode(self, stream: av.stream.Stream, frame: av.VideoFrame | av.AudioFrame | None) -> None:
        assert isinstance(stream, av.VideoStream | av.AudioStream)
        self.out.mux(stream.encode(frame))  # type: ignore[arg-type]


def snapshot(clip: Path, at_s: float, out: Path, boxes: Sequence[PersonBox] = ()) -> Path:
    """A JPEG of the clip's frame at `at_s` seconds (clamped to the clip), with `boxes` drawn on it."""
    import cv2

    from custodywatch.recorder.snapshot_boxes import draw_person_boxes

    best: np.ndarray | None = None
    with av.open(str(clip)) as c:
        for frame in c.decode(video=0):
            if frame.time is None:
                continue
            if best is None or frame.time <= at_s + 1e-6:
                best = frame.to_ndarray(format="bgr24")
            if frame.time >= at_s:
                break
    if best is None:
        raise ClipError(f"{clip}: no frame to take a snapshot from")
    draw_person_boxes(best, boxes)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), best):
        raise ClipError(f"{out}: cannot write the snapshot")
    return out
