"""Videos whose every frame shows its own number, so a test can tell which frame a reader got."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

BITS = 12
BLOCK = 40  # px: big enough to survive H.264 at any quality
SIZE = (640, 360)


def numbered_frame(n: int, background: np.ndarray) -> np.ndarray:
    image = background.copy()
    for bit in range(BITS):
        value = 255 if (n >> bit) & 1 else 0
        image[0:BLOCK, bit * BLOCK:(bit + 1) * BLOCK] = value
    return image


def frame_number(image: np.ndarray) -> int:
    n = 0
    for bit in range(BITS):
        block = image[8:BLOCK - 8, bit * BLOCK + 8:(bit + 1) * BLOCK - 8]
        if block.mean() > 128:
            n |= 1 << bit
    return n


def write_numbered(path: Path, fps: int, gop: int, frames: int, seed: int = 7) -> Path:
    """H.264 MP4, no B-frames, a keyframe every `gop` frames, frame n showing n."""
    rng = np.random.default_rng(seed)
    background = np.repeat(np.repeat(rng.integers(40, 200, (SIZE[1] // 8, SIZE[0] // 8, 3), np.uint8),
                                     8, axis=0), 8, axis=1)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"bf": "0", "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0",
                          "preset": "veryfast"}
        for n in range(frames):
            frame = av.VideoFrame.from_ndarray(numbered_frame(n, background), format="bgr24")
            frame.pts, frame.time_base = n, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
