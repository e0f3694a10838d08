"""Parameter sets (SPS/PPS, and VPS for H.265) from an Annex B keyframe.

Many cameras announce no `sprop-parameter-sets` in their SDP and send the parameter sets only
in-band, in front of each keyframe. An MP4 needs them in its header (avcC/hvcC) before the first
sample, so the segment writer takes them from the first keyframe when the stream has none. (The
FFmpeg in PyAV's wheels recovers them from the first packet too; handing them over explicitly
keeps the header right whatever FFmpeg the box has.)
"""
from __future__ import annotations

# NAL unit types that carry parameter sets.
_PARAMETER_SETS = {"h264": {7, 8}, "hevc": {32, 33, 34}}


def _nal_units(data: bytes) -> list[bytes]:
    """Split Annex B data at its start codes (00 00 01 or 00 00 00 01)."""
    units: list[bytes] = []
    starts: list[int] = []
    i = data.find(b"\x00\x00\x01")
    while i != -1:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    for n, start in enumerate(starts):
        end = starts[n + 1] - 3 if n + 1 < len(starts) else len(data)
        unit = data[start:end]
        # A 4-byte start code leaves its leading zero on the end of the previous unit.
        units.append(unit.rstrip(b"\x00") if n + 1 < len(starts) else unit)
    return [u for u in units if u]


def _nal_type(codec: str, unit: bytes) -> int:
    return (unit[0] >> 1) & 0x3F if codec == "hevc" else unit[0] & 0x1F


def parameter_sets(codec: str, keyframe: bytes) -> bytes:
    """The keyframe's parameter sets as Annex B (what the MP4 muxer turns into avcC/hvcC);
    empty when the codec is not H.264/H.265 or the keyframe carries none."""
    wanted = _PARAMETER_SETS.get(codec)
    if wanted is None or not keyframe.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")):
        return b""
    found = [u for u in _nal_units(keyframe) if _nal_type(codec, u) in wanted]
    return b"".join(b"\x00\x00\x00\x01" + u for u in found)
