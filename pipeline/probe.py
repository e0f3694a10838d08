"""What a camera actually sends, measured from its packets: `custodywatch probe URL`.

Installers need the figures the rest of the box silently assumes: a GOP of a second or two (clips
start on keyframes, keyframe-only decoding needs it), no B-frames on the analysed sub-stream
(they add latency and reorder frames), and H.264 for browser playback. Everything reported is
read from the stream itself over the probe window, not from what the container header claims.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Literal

import av

from custodywatch.config import redact_url
from custodywatch.pipeline.source import SourceError, open_container

StreamRole = Literal["main", "sub"]

MAX_GOP_S = 2.0
BROWSER_CODECS = ("h264",)


@dataclass(frozen=True)
class StreamProbe:
    url: str  # credentials redacted
    codec: str
    profile: str | None
    width: int
    height: int
    fps: float | None  # measured from packet timestamps
    gop_s: float | None  # median keyframe interval; None: fewer than two keyframes seen
    gop_at_least_s: float | None  # with one keyframe only: the GOP is at least this long
    b_frames: bool  # packets arrive out of presentation order, or the SPS declares reordering
    audio_codec: str | None
    bitrate_kbps: float | None  # video packets only
    seconds: float  # stream time covered by the probe
    packets: int
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def lines(self) -> list[str]:
        gop = (f"{self.gop_s:.2f} s" if self.gop_s is not None
               else f">= {self.gop_at_least_s:.1f} s (one keyframe seen)" if self.gop_at_least_s is not None
               else "unknown (no keyframe seen)")
        rows = [
            ("codec", f"{self.codec}" + (f" ({self.profile})" if self.profile else "")),
            ("resolution", f"{self.width}x{self.height}"),
            ("fps", "unknown" if self.fps is None else f"{self.fps:.2f}"),
            ("gop", gop),
            ("b-frames", "yes" if self.b_frames else "no"),
            ("audio", self.audio_codec or "none"),
            ("bitrate", "unknown" if self.bitrate_kbps is None else f"{self.bitrate_kbps:.0f} kbit/s"),
            ("measured", f"{self.seconds:.1f} s, {self.packets} packets"),
        ]
        warnings = [f"  WARNING: {w}" for w in self.warnings]
        return [self.url] + [f"  {k:<11}{v}" for k, v in rows] + warnings


def probe(url: str, seconds: float = 5.0, role: StreamRole | None = None,
          timeout_s: float = 10.0) -> StreamProbe:
    """Reads `seconds` of stream time (or until `timeout_s` of wall time) and measures it.

    `role` adds the warnings that only matter for one use: B-frames hurt the analysed sub-stream,
    H.265 hurts browser playback of the recorded main stream. Raises SourceError when the stream
    cannot be opened or carries no video.
    """
    container = open_container(url, open_timeout_s=timeout_s, read_timeout_s=timeout_s)
    try:
        if not container.streams.video:
            raise SourceError(f"{redact_url(url)}: no video stream")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        packets = _read(container, video, seconds, timeout_s)
    except av.error.FFmpegError as exc:
        raise SourceError(f"{redact_url(url)}: stream error while probing: {exc}") from None
    finally:
        container.close()
    return _measure(url, video, audio, packets, role)


@dataclass(frozen=True)
class _Packet:
    pts: float | None
    dts: float | None
    size: int
    keyframe: bool


def _read(container: av.container.InputContainer, video: av.VideoStream, seconds: float,
          timeout_s: float) -> list[_Packet]:
    tb = float(video.time_base) if video.time_base else 0.0
    out: list[_Packet] = []
    first: float | None = None
    # The window is stream time; the wall-clock cap only guards against a stream that trickles.
    deadline = time.monotonic() + seconds + timeout_s
    for packet in container.demux(video):
        if packet.size == 0:
            continue
        pts = None if packet.pts is None else packet.pts * tb
        dts = None if packet.dts is None else packet.dts * tb
        out.append(_Packet(pts, dts, packet.size, packet.is_keyframe))
        t = dts if dts is not None else pts
        if t is not None:
            first = t if first is None else first
            if t - first >= seconds:
                break
        if time.monotonic() > deadline:
            break
    return out


def _measure(url: str, video: av.VideoStream, audio: av.AudioStream | None, packets: list[_Packet],
             role: StreamRole | None) -> StreamProbe:
    ctx = video.codec_context
    times = sorted(p.pts for p in packets if p.pts is not None)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    fps = (len(times) - 1) / span if span > 0 else None
    keys = [p.pts for p in packets if p.keyframe and p.pts is not None]
    intervals = [b - a for a, b in zip(keys, keys[1:], strict=False)]
    gop = statistics.median(intervals) if intervals else None
    # With one keyframe only, the GOP is at least as long as what followed it in the window.
    at_least = times[-1] - keys[0] if gop is None and keys and times else None
    # Timestamps show reordering when the sender stamps presentation times (as cameras do); a
    # sender that stamps decode times hides it, but the SPS still declares a reorder delay.
    b_frames = _reordered(packets) or ctx.has_b_frames > 0
    size = sum(p.size for p in packets)
    kbps = size * 8 / span / 1000 if span > 0 else None
    codec = ctx.name
    warnings: list[str] = []
    if gop is not None and gop > MAX_GOP_S:
        warnings.append(f"GOP {gop:.1f} s is over {MAX_GOP_S:.0f} s: clips start up to a GOP early and "
                        "keyframe-only decoding is off; set the camera's I-frame interval to 1-2 s")
    elif at_least is not None and at_least > MAX_GOP_S:
        warnings.append(f"GOP is at least {at_least:.1f} s (over {MAX_GOP_S:.0f} s); set the camera's "
                        "I-frame interval to 1-2 s")
    if b_frames and role != "main":
        warnings.append("B-frames on the sub-stream: frames arrive reordered and late for analysis; "
                        "turn B-frames off (or use the baseline/main profile without them)")
    if codec not in BROWSER_CODECS and role != "sub":
        warnings.append(f"{codec} does not play in every browser: playback and clips use a converted copy "
                        "(the original is kept); H.264 avoids the conversion")
    return StreamProbe(
        url=redact_url(url), codec=codec, profile=ctx.profile, width=ctx.width, height=ctx.height,
        fps=fps, gop_s=gop, gop_at_least_s=at_least, b_frames=b_frames,
        audio_codec=None if audio is None else audio.codec_context.name,
        bitrate_kbps=kbps, seconds=span, packets=len(packets), warnings=warnings,
    )


def _reordered(packets: list[_Packet]) -> bool:
    """True when a packet, in arrival order, shows a picture earlier than one already sent: the
    signature of B-frames whatever the container's header says."""
    highest: float | None = None
    for p in packets:
        if p.pts is None:
            continue
        if highest is not None and p.pts < highest:
            return True
        highest = p.pts if highest is None else max(highest, p.pts)
    return False
