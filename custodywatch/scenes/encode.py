"""Encode frames to an H.264 MP4 that the RTSP loop server and live readers accept.

No B-frames (a live client would see timestamps go backwards) and a keyframe at least every
2 s (a client joining a looped stream waits for the next one).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from itertools import chain
from pathlib import Path

import av
import numpy as np

KEYFRAME_INTERVAL_S = 2


def encode_h264(frames: Iterable[np.ndarray], path: Path, fps: int) -> int:
    """Write BGR frames to `path` at `fps`, frame i at i/fps seconds; returns the frame count.

    The file appears only when complete, so a reader never picks up half a video.
    """
    images = iter(frames)
    first = next(images, None)
    if first is None:
        raise ValueError(f"no frames to encode into {path}")
    partial = path.with_name(path.name + ".partial")
    try:
        count = _encode(chain([first], images), partial, fps, first.shape[1], first.shape[0])
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)
    return count


def _encode(images: Iterator[np.ndarray], path: Path, fps: int, width: int, height: int) -> int:
    frame_time_base = Fraction(1, fps)
    count = 0
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        # veryfast: scenes must render in seconds; they are test fixtures, not evidence.
        stream.options = {"bf": "0", "g": str(KEYFRAME_INTERVAL_S * fps), "preset": "veryfast"}
        for image in images:
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = count
            # Not stream.time_base: the muxer changes that once the header is written.
            frame.time_base = frame_time_base
            container.mux(stream.encode(frame))
            count += 1
        container.mux(stream.encode(None))
    return count
