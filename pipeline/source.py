"""Reading a camera (RTSP URL) or a video file with PyAV, sampled at the analysis rate.

Every frame carries two times: `stream_s`, seconds since the source's first frame on the stream's
own timestamps (the clock of `analyze`), and `wall`, the stream time mapped to wall-clock time for
this connection (the clock of the live service). Only the sampled frames are converted to arrays.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import numpy as np

from custodywatch.config import redact_url
from custodywatch.recorder.timeline import WindowMin
from custodywatch.rules.view import ViewSample, measure_luma, measure_view

log = logging.getLogger("custodywatch.source")

# The mapping's window (a minute) has seen the least-delayed frames by then; drift counts from there.
DRIFT_SETTLE_S = 60.0
# A damaged stream logs its first damaged frame, then one line per this many, not one per frame.
CORRUPT_LOG_EVERY = 100
# Packets in a row the decoder refuses before a live source counts as broken (and is reconnected):
# a glitch costs its frame, not the connection; a stream that is nothing but garbage is no stream.
MAX_REFUSED_IN_A_ROW = 50
# Demuxers of still pictures: a photo opens as a one-frame "video", which no analysis can use.
STILL_IMAGE_FORMATS = ("image2",)


class SourceError(Exception):
    """A source that cannot be read: the message names it (credentials hidden) and why."""


@dataclass
class SourceCounters:
    """What one source did, across its connections: video packets received and frames decoded."""

    received: int = 0
    decoded: int = 0
    # Frames that arrived damaged: decoded with the damage concealed by the decoder (still
    # delivered), or, from a live source, refused by it as invalid data (skipped). A camera's
    # glitch must not stop analysis.
    corrupt: int = 0
    # time.monotonic() of the two latest packets. When a server stalls, FFmpeg's RTSP demuxer
    # still hands out the one packet it held back when its read times out: a stall shows as the
    # second-latest packet getting old.
    last_packet_at: float | None = None
    previous_packet_at: float | None = None
    # How far the camera's stream clock has run ahead of the box's clock (negative: behind) since
    # the current connection's mapping settled; None before it has. The wall-clock mapping follows
    # the drift, so frames keep the box's time: this is for the installer, to spot a bad camera clock.
    clock_drift_s: float | None = None


@dataclass(frozen=True)
class Frame:
    camera: str
    image: np.ndarray  # BGR uint8, HxWx3
    stream_s: float
    wall: float
    index: int  # analysed frames since the source opened
    # The decoder's luma plane (a view, no copy) where the pixel format has one, for cheap picture
    # statistics; full_range tells its scale (JPEG-style 0..255 or video 16..235).
    luma: np.ndarray | None = None
    full_range: bool = False

    def view(self) -> ViewSample:
        """The frame's picture statistics for video_loss, from the luma plane when there is one."""
        if self.luma is not None:
            return measure_luma(self.luma, self.full_range)
        return measure_view(self.image)


LUMA_FIRST = {"yuv420p", "yuvj420p", "nv12", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p"}


def _luma(frame: av.VideoFrame) -> np.ndarray | None:
    if frame.format.name not in LUMA_FIRST:
        return None
    plane = frame.planes[0]
    return np.frombuffer(memoryview(plane), np.uint8).reshape(frame.height, plane.line_size)[:, :frame.width]


def is_stream_url(url: str) -> bool:
    return "://" in url and not url.startswith("file://")


class FrameSampler:
    """Keeps frames at a target rate on their own timestamps (no drift, no burst after a gap)."""

    def __init__(self, fps: float):
        self.period = 1.0 / fps
        self._next: float | None = None

    def take(self, t: float) -> bool:
        if self._next is not None and t < self._next - 1e-6:
            return False
        # Small tolerance: a 15 fps stream sampled at 2 fps should not slip a frame every period.
        self._next = (t if self._next is None or t - self._next > self.period else self._next) + self.period
        return True


def _scrub(exc: BaseException, url: str) -> str:
    """FFmpeg errors quote the URL they failed on, credentials included."""
    return str(exc).replace(url, redact_url(url))


def open_container(
    url: str, open_timeout_s: float = 10.0, read_timeout_s: float = 5.0
) -> av.container.InputContainer:
    name = redact_url(url)
    if is_stream_url(url):
        options = {"rtsp_transport": "tcp"} if url.startswith("rtsp") else {}
        try:
            return av.open(url, options=options, timeout=(open_timeout_s, read_timeout_s))
        except (av.error.FFmpegError, OSError) as exc:
            raise SourceError(f"{name}: cannot open stream: {_scrub(exc, url)}") from None
    path = Path(url.removeprefix("file://"))
    if not path.exists():
        raise SourceError(f"{path}: file not found")
    if not path.is_file():
        raise SourceError(f"{path}: not a file")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError):
        raise SourceError(f"{path}: not a video file (no readable container)") from None
    if not container.streams.video:
        container.close()
        raise SourceError(f"{path}: not a video file (no video stream)")
    image_format = container.format.name
    if image_format in STILL_IMAGE_FORMATS or image_format.endswith("_pipe"):
        container.close()
        raise SourceError(f"{path}: not a video file (a still image, {image_format})")
    return container


def _log_damage(url: str, damaged: int) -> None:
    if damaged == 1 or damaged % CORRUPT_LOG_EVERY == 0:
        log.warning("%s: %d damaged frame(s) on this connection (corrupt data: concealed by the "
                    "decoder or skipped)", redact_url(url), damaged)


class KeyframeGate:
    """Whether decoding keyframes alone still gives every analysed frame.

    True when the last keyframe intervals were all within one analysis period, e.g. a camera
    analysed at 1 fps with a 1 s GOP. The mode changes only at a keyframe: a P-frame decoded after
    skipped ones would reference pictures the decoder never saw.
    """

    def __init__(self, fps: float, intervals: int = 2):
        self.period = 1.0 / fps
        self._intervals = intervals
        self._keyframes: list[float] = []
        self.keyframes_only = False

    def keyframe(self, t: float) -> bool:
        """Note a keyframe at stream time `t`; returns the mode until the next one."""
        self._keyframes = [*self._keyframes[-self._intervals:], t]
        gaps = [b - a for a, b in zip(self._keyframes, self._keyframes[1:], strict=False)]
        # 5 % slack: a 1 s GOP on 90 kHz timestamps is not exactly 1 s.
        self.keyframes_only = len(gaps) >= self._intervals and max(gaps) <= self.period * 1.05
        return self.keyframes_only


def read_frames(camera: str, url: str, fps: float, *, realtime_files: bool = False,
                open_timeout_s: float = 10.0, read_timeout_s: float = 5.0,
                counters: SourceCounters | None = None,
                keyframe_gate: bool = True) -> Iterator[Frame]:
    """Frames from one connection to `url`, sampled at `fps`, until it ends or fails.

    Every connection gets a new decoder and a new stream-to-wall-clock mapping. Only frames the
    analysis needs are decoded (keyframes alone when the GOP allows, see KeyframeGate) and only
    the sampled ones are converted. `counters`, when given, counts packets and decoded frames.

    Raises SourceError when it cannot be opened, or when a file turns out to hold no decodable
    video. A live stream that ends (server gone) simply stops the iterator: the caller reconnects.
    """
    container = open_container(url, open_timeout_s, read_timeout_s)
    try:
        stream = container.streams.video[0]
        codec = stream.codec_context
        # One thread per decoder: at sub-stream sizes threading costs more CPU than it saves.
        stream.thread_type = "SLICE"
        codec.thread_count = 1
        tb = float(stream.time_base) if stream.time_base else 1 / 90000
        sampler = FrameSampler(fps)
        gate = KeyframeGate(fps) if keyframe_gate else None
        keyframes_only = False
        first_pts: float | None = None
        anchor_wall = 0.0
        anchor_mono = time.monotonic()
        index = 0
        decoded_any = False
        corrupt_here = 0  # damaged frames on this connection
        refused_in_a_row = 0
        counts = counters if counters is not None else SourceCounters()
        live = realtime_files or is_stream_url(url)
        edge = WindowMin()
        counts.clock_drift_s = None
        connected_at = time.time()
        settled_anchor: float | None = None
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    frames = codec.decode(None)  # end of a file: drain the decoder
                else:
                    counts.received += 1
                    counts.previous_packet_at, counts.last_packet_at = counts.last_packet_at, time.monotonic()
                    if packet.is_keyframe and gate is not None and packet.pts is not None:
                        keyframes_only = gate.keyframe(packet.pts * tb)
                    if keyframes_only and not packet.is_keyframe:
                        continue
                    try:
                        frames = codec.decode(packet)
                        refused_in_a_row = 0
                    except av.error.InvalidDataError:
                        # A file is evidence analysed frame by frame: its damage stops it (below).
                        refused_in_a_row += 1
                        if not live or refused_in_a_row >= MAX_REFUSED_IN_A_ROW:
                            raise
                        counts.corrupt += 1
                        corrupt_here += 1
                        _log_damage(url, corrupt_here)
                        continue
                for frame in frames:
                    decoded_any = True
                    counts.decoded += 1
                    if frame.is_corrupt:
                        counts.corrupt += 1
                        corrupt_here += 1
                        _log_damage(url, corrupt_here)
                    pts = frame.pts if frame.pts is not None else frame.dts
                    if pts is None:
                        continue
                    t_stream = pts * tb
                    if first_pts is None:
                        first_pts = t_stream
                        anchor_wall = time.time()
                        anchor_mono = time.monotonic()
                    rel = t_stream - first_pts
                    if realtime_files:
                        delay = anchor_mono + rel - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    if not sampler.take(rel):
                        continue
                    if live:
                        # A server may send a backlog on connect (from its last keyframe on), in a
                        # burst: the frame that came with the least delay bounds the mapping best,
                        # and no frame is stamped later than its arrival. Over the last minute
                        # only, as the recorder does, so that both follow a drifting camera clock
                        # and put a frame and its recording at the same time.
                        now = time.time()
                        anchor_wall = edge.add(now, now - rel)
                        if settled_anchor is None and now - connected_at >= DRIFT_SETTLE_S:
                            settled_anchor = anchor_wall
                        if settled_anchor is not None:
                            counts.clock_drift_s = settled_anchor - anchor_wall
                    image = frame.to_ndarray(format="bgr24")
                    yield Frame(camera, image, rel, anchor_wall + rel, index, _luma(frame),
                                frame.format.name.startswith("yuvj"))
                    index += 1
        except av.error.InvalidDataError as exc:
            if not decoded_any and not is_stream_url(url):
                raise SourceError(f"{url}: not a video file ({exc})") from None
            detail = _scrub(exc, url)
            raise SourceError(f"{redact_url(url)}: corrupt data after {index} frames: {detail}") from None
        except (av.error.FFmpegError, OSError) as exc:
            if not is_stream_url(url):
                raise SourceError(f"{url}: read error: {exc}") from None
        if not decoded_any and not is_stream_url(url):
            raise SourceError(f"{url}: not a video file (no decodable frames)")
    finally:
        container.close()


def estimate_frames(url: str, fps: float) -> int | None:
    """How many frames `read_frames` will yield for a file, for a progress bar."""
    try:
        with av.open(url) as c:
            s = c.streams.video[0]
            duration = (float(s.duration * s.time_base) if s.duration and s.time_base
                        else (c.duration or 0) / 1e6)
    except Exception:  # noqa: BLE001 - only a progress estimate
        return None
    return int(duration * fps) + 1 if duration > 0 else None
