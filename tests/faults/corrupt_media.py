"""Damaged H.264 made from the real clip: garbage bytes inside slices and an access unit cut short.

The damage is done on the MP4's own samples (length-prefixed NAL units), keeping every length
prefix consistent, so the container stays readable and the RTSP loop server sends the damaged
bitstream exactly as a camera with a bad link or a failing encoder would.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from custodywatch.paths import shared_dir

REAL_CLIP = shared_dir() / "media" / "real" / "intel_one-by-one-person-detection.mp4"
FPS = 10
GOP = 10  # a keyframe every second: the loop server needs one at least every 2 s
SIZE = (640, 360)
SLICE_TYPES = (1, 5)  # coded slice of a non-IDR / IDR picture


def write_clean_clip(path: Path, frames: int, start_s: float = 20.0) -> Path:
    """`frames` frames of the real clip from `start_s` (people in the room), re-encoded for RTSP:
    H.264 without B-frames, a keyframe every GOP frames."""
    with av.open(str(REAL_CLIP)) as src, av.open(str(path), "w", format="mp4") as dst:
        stream = dst.add_stream("libx264", rate=FPS)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"bf": "0", "g": str(GOP), "keyint_min": str(GOP), "sc_threshold": "0",
                          "preset": "veryfast"}
        n = 0
        for frame in src.decode(video=0):
            if frame.time is None or frame.time < start_s:
                continue
            resized = cv2.resize(frame.to_ndarray(format="bgr24"), SIZE, interpolation=cv2.INTER_AREA)
            image = np.asarray(resized, dtype=np.uint8)
            out = av.VideoFrame.from_ndarray(image, format="bgr24")
            out.pts, out.time_base = n, Fraction(1, FPS)
            dst.mux(stream.encode(out))
            n += 1
            if n == frames:
                break
        dst.mux(stream.encode(None))
    return path


def nal_units(sample: bytes) -> Iterator[tuple[int, int]]:
    """(payload offset, payload length) of each NAL unit of an MP4 sample (4-byte length prefixes)."""
    i = 0
    while i + 4 <= len(sample):
        (length,) = struct.unpack(">I", sample[i:i + 4])
        yield i + 4, length
        i += 4 + length


def scramble_slices(sample: bytes, rng: np.random.Generator, keep: int = 8) -> bytes:
    """Random bytes over each slice's payload after its first `keep` bytes (NAL header and the start
    of the slice header survive, as when a link flips bits mid-packet)."""
    out = bytearray(sample)
    for offset, length in nal_units(sample):
        if out[offset] & 0x1F in SLICE_TYPES and length > keep:
            out[offset + keep:offset + length] = rng.integers(0, 256, length - keep, dtype=np.uint8).tobytes()
    return bytes(out)


def truncate_last_nal(sample: bytes, fraction: float = 1 / 3) -> bytes:
    """The access unit cut short: its last NAL unit keeps only `fraction` of its payload."""
    offset, length = list(nal_units(sample))[-1]
    keep = max(4, int(length * fraction))
    return sample[:offset - 4] + struct.pack(">I", keep) + sample[offset:offset + keep]


def garbage_access_unit(sample: bytes, rng: np.random.Generator) -> bytes:
    """The whole access unit replaced by one NAL unit of random bytes under the first one's header:
    damage the decoder refuses as invalid data rather than conceals."""
    offset, _ = next(nal_units(sample))
    body = sample[offset:offset + 1] + rng.integers(0, 256, len(sample) - 5, dtype=np.uint8).tobytes()
    return struct.pack(">I", len(body)) + body


def write_damaged_copy(clean: Path, path: Path, scrambled: set[int], truncated: set[int],
                       garbage: frozenset[int] = frozenset(), seed: int = 0) -> Path:
    """`clean` with the packets numbered in `scrambled` full of garbage after their slice headers,
    those in `truncated` cut, and those in `garbage` nothing but garbage."""
    rng = np.random.default_rng(seed)
    with av.open(str(clean)) as src, av.open(str(path), "w", format="mp4") as dst:
        video = src.streams.video[0]
        out_stream = dst.add_stream_from_template(video)
        for i, packet in enumerate(p for p in src.demux(video) if p.size):
            data = bytes(packet)
            if i in scrambled:
                data = scramble_slices(data, rng)
            if i in truncated:
                data = truncate_last_nal(data)
            if i in garbage:
                data = garbage_access_unit(data, rng)
            damaged = av.Packet(data)
            damaged.pts, damaged.dts, damaged.time_base = packet.pts, packet.dts, packet.time_base
            damaged.is_keyframe = packet.is_keyframe
            damaged.stream = out_stream
            dst.mux(damaged)
    return path
