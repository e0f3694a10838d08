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
from av.video.frame import PictureType

KEYFRAME_INTERVAL_S = 2
# Constant quality 20: about 300 kbit/s for a still 640x360 room, what a camera's sub-stream
# sends. At x264's default (23) the sensor noise is quantised away and a live but motionless
# room decodes to nearly identical frames, which no real camera sends and which would pass a
# frozen-picture check on the scenes that a real camera's noise fails.
CONSTANT_QUALITY = 20


def encode_h264(frames: Iterable[np.ndarray | None], path: Path, fps: int) -> int:
    """Write BGR frames to `path` at `fps`, frame i at i/fps seconds; returns the frame count.
    A None frame is one the camera never sent: the video has a gap there.

    The file appears only when complete, so a reader never picks up half a video.
    """
    images = iter(frames)
    first = next(images, None)
    if first is None:
        raise ValueError(f"no first frame to encode into {path}")
    partial = path.with_name(path.name + ".partial")
    try:
        count = _encode(chain([first], images), partial, fps, first.shape[1], first.shape[0])
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)
    return count


def _encode(images: Iterator[np.ndarray | None], path: Path, fps: int, width: int, height: int) -> int:
    frame_time_base = Fraction(1, fps)
    count = 0
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        # veryfast: scenes must render in seconds; they are test fixtures, not evidence.
        stream.options = {"bf": "0", "g": str(KEYFRAME_INTERVAL_S * fps), "preset": "veryfast",
                          "crf": str(CONSTANT_QUALITY)}
        after_gap = False
        for index, image in enumerate(images):
            if image is None:
                after_gap = True
                continue
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            if after_gap:
                # A camera coming back starts its stream with a keyframe.
                frame.pict_type = PictureType.I
                after_gap = False
            # Not stream.time_base: the muxer changes that once the header is written.
            frame.time_base = frame_time_base
            container.mux(stream.encode(frame))
            count += 1
        container.mux(stream.encode(None))
    return count
