"""One archive segment: packets remuxed, never decoded, into a fragmented MP4 (or MOV).

The file is written straight into the archive as `<name>.part` and renamed when it is closed
whole. It is fragmented at every keyframe and the muxer's buffer is flushed after every packet, so
the bytes of each finished fragment are in the file (the OS has them) the moment the next
keyframe arrives: a killed recorder loses at most the fragment it was filling, and crash recovery
(recovery.py) cuts the file back to its last whole fragment.

MP4 holds H.264/H.265 with AAC (or no audio). G.711 and other audio MP4 cannot carry go into a
QuickTime file (same fragmenting muxer), kept as it came; clips convert that audio to AAC.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import av
import av.error

PART_SUFFIX = ".part"
MP4_AUDIO = {"aac", "mp3"}
VIDEO_CODECS = {"h264", "hevc"}
FRAGMENTED = "frag_keyframe+empty_moov+default_base_moof"
HASH_CHUNK = 1 << 20


class SegmentError(Exception):
    """The segment could not be written (disk full, I/O error)."""


class PacketRejected(Exception):
    """The muxer refused one packet (invalid data); the segment itself is fine."""


def container_for(codecs: list[str]) -> tuple[str, str]:
    """(FFmpeg format, file extension) able to hold these codecs as they are."""
    audio = [c for c in codecs if c not in VIDEO_CODECS]
    if all(c in MP4_AUDIO for c in audio):
        return "mp4", ".mp4"
    return "mov", ".mov"


def segment_name(camera: str, wall: float, ext: str) -> str:
    """`<camera>/<YYYY-MM-DD>/<camera>_<YYYYmmddTHHMMSS.ffffff>Z<ext>`: the start is in the name, so
    crash recovery knows when an unindexed file began."""
    ts = datetime.fromtimestamp(wall, UTC)
    return f"{camera}/{ts:%Y-%m-%d}/{camera}_{ts:%Y%m%dT%H%M%S.%f}Z{ext}"


def start_from_name(name: str) -> float:
    stamp = Path(name).name.split("_")[-1].split("Z")[0]
    return datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC).timestamp()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class SegmentFile:
    path: Path  # the final name
    size: int
    sha256: str
    streams: list[str]
    packets: int


class SegmentWriter:
    """Writes the packets of one segment; `origin_s` (stream seconds) becomes the file's time 0."""

    def __init__(self, path: Path, templates: list[av.stream.Stream], origin_s: float,
                 video_parameter_sets: bytes = b""):
        self.path = path
        self.part = path.with_name(path.name + PART_SUFFIX)
        self.origin_s = origin_s
        self.codecs = [s.codec_context.name for s in templates]
        fmt, _ = container_for(self.codecs)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._sink = _Sink(self.part)
            self._out = av.open(self._sink, mode="w", format=fmt,
                                options={"movflags": FRAGMENTED, "flush_packets": "1"})
        except (av.error.FFmpegError, OSError) as exc:
            raise SegmentError(f"{self.part}: cannot create: {exc}") from exc
        self._map: dict[int, av.stream.Stream] = {}
        for template in templates:
            out = self._out.add_stream_from_template(template)
            if template.type == "video" and not template.codec_context.extradata and video_parameter_sets:
                # SPS/PPS came only in-band: give the muxer the ones from the first keyframe.
                out.codec_context.extradata = video_parameter_sets
            self._map[template.index] = out
        self.packets = 0
        self.end_s = origin_s
        self._last_dts: dict[int, int] = {}

    def write(self, packet: av.Packet[av.stream.Stream], t_s: float, duration_s: float) -> None:
        """Mux one packet whose stream time is `t_s` (its decode time, in seconds)."""
        out = self._map[packet.stream_index]
        tb = packet.time_base
        assert tb is not None and packet.dts is not None
        shift = round(self.origin_s / tb)
        dts = packet.dts - shift
        pts = dts if packet.pts is None else packet.pts - shift
        last = self._last_dts.get(packet.stream_index)
        if last is not None and dts <= last:
            # Two packets stamped alike (a camera's clock granularity, a sender's jitter): the muxer
            # needs decode times that increase, so this one moves one tick later.
            pts += last + 1 - dts
            dts = last + 1
        packet.dts, packet.pts = dts, pts
        packet.stream = out
        try:
            self._out.mux_one(packet)
        except (av.error.FFmpegError, OSError) as exc:
            self._sink.check()
            raise PacketRejected(f"{self.part}: the muxer refused a packet: {exc}") from exc
        self._sink.check()
        self._last_dts[packet.stream_index] = dts
        self.packets += 1
        self.end_s = max(self.end_s, t_s + duration_s)

    def close(self) -> SegmentFile:
        """Finish the file, make it durable, rename it to its final name; hash it."""
        try:
            self._out.close()
        except (av.error.FFmpegError, OSError) as exc:
            raise SegmentError(f"{self.part}: close failed: {exc}") from exc
        finally:
            self._sink.close()
        self._sink.check()
        return finish_file(self.part, self.path, self.codecs, self.packets)

    def abort(self) -> None:
        """Close after an error; whatever whole fragments reached the file stay for recovery."""
        try:
            self._out.close()
        except (av.error.FFmpegError, OSError):
            pass
        finally:
            self._sink.close()


class _Sink:
    """The file the muxer writes through. FFmpeg's own file output keeps a failed write (disk full,
    quota, I/O error) to itself and the segment would be closed short but "whole"; writing through
    this object, the first failure is kept and turns into a SegmentError."""

    def __init__(self, path: Path):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as exc:
            self.error = self.error or exc
            raise
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return os.lseek(self.fd, offset, whence)

    def tell(self) -> int:
        return os.lseek(self.fd, 0, os.SEEK_CUR)

    def flush(self) -> None:
        pass

    def check(self) -> None:
        if self.error is not None:
            raise SegmentError(f"{self.path}: write failed: {self.error}")

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def finish_file(part: Path, final: Path, codecs: list[str], packets: int) -> SegmentFile:
    fd = os.open(part, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    digest = sha256_file(part)
    size = part.stat().st_size
    os.replace(part, final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)
    return SegmentFile(final, size, digest, codecs, packets)
