"""Synthetic audio/video fixtures for the recorder's tests and benchmark.

Each video frame shows its own index as a row of black and white blocks, so a test can decode any
frame of a recording or a clip and tell exactly which source frame it is (the ±1 frame checks).
The audio is a steady tone, so "audio kept" can be checked by decoding it back.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np

CODE_BITS = 16
BLOCK = 32  # pixels per code block: survives any sane encoder quality
CODE_TOP = 16

AudioCodec = Literal["aac", "pcm_alaw"]


@dataclass(frozen=True)
class MediaSpec:
    seconds: float = 20.0
    fps: int = 25
    width: int = 640
    height: int = 360
    keyframe_s: float = 1.0
    video_codec: Literal["libx264", "libx265"] = "libx264"
    bitrate: int | None = None  # bits/s; None: the encoder's default quality
    b_frames: int = 0  # H.264 only: consecutive B-frames (a camera's "B-frame" setting)
    audio: AudioCodec | None = "aac"
    sample_rate: int = 16000
    tone_hz: float = 440.0


def frame_image(index: int, spec: MediaSpec, rng: np.random.Generator | None = None) -> np.ndarray:
    """A BGR frame whose top row of blocks spells `index` in binary (most significant bit first)."""
    img = np.full((spec.height, spec.width, 3), 96, np.uint8)
    if rng is not None:
        # Noise gives the encoder real work, so a bitrate target is actually reached.
        noise_h = spec.height // 2
        img[spec.height - noise_h:] = rng.integers(0, 255, (noise_h, spec.width, 3), dtype=np.uint8)
    for bit in range(CODE_BITS):
        on = (index >> (CODE_BITS - 1 - bit)) & 1
        x = 8 + bit * (BLOCK + 4)
        img[CODE_TOP:CODE_TOP + BLOCK, x:x + BLOCK] = 255 if on else 0
    return img


def read_code(image: np.ndarray) -> int:
    """The frame index spelled by `frame_image` (image is BGR or gray, full size)."""
    gray = image if image.ndim == 2 else image.mean(axis=2)
    value = 0
    for bit in range(CODE_BITS):
        x = 8 + bit * (BLOCK + 4)
        block = gray[CODE_TOP + 8:CODE_TOP + BLOCK - 8, x + 8:x + BLOCK - 8]
        value = (value << 1) | int(float(block.mean()) > 128)
    return value


def write_media(path: Path, spec: MediaSpec, noise: bool = False) -> Path:
    """Encode the fixture: H.264/H.265 without B-frames, a keyframe every `keyframe_s`, plus audio.

    MP4 for AAC; QuickTime (.mov) for G.711, which MP4 cannot hold.
    """
    fmt = "mov" if spec.audio == "pcm_alaw" else "mp4"
    partial = path.with_name(path.name + ".partial")
    rng = np.random.default_rng(7) if noise else None
    n_frames = int(round(spec.seconds * spec.fps))
    with av.open(str(partial), mode="w", format=fmt) as out:
        video = out.add_stream(spec.video_codec, rate=spec.fps)
        video.width, video.height = spec.width, spec.height
        video.pix_fmt = "yuv420p"
        gop = str(max(1, int(spec.keyframe_s * spec.fps)))
        if spec.video_codec == "libx264":
            video.options = {"bf": str(spec.b_frames), "g": gop, "preset": "ultrafast"}
        else:
            video.options = {"preset": "ultrafast", "x265-params": f"bframes=0:keyint={gop}:min-keyint={gop}:"
                             "scenecut=0:log-level=error"}
        if spec.bitrate:
            video.bit_rate = spec.bitrate
        audio = None
        if spec.audio is not None:
            audio = out.add_stream(spec.audio, rate=spec.sample_rate)
            audio.layout = "mono"
        frame_tb = Fraction(1, spec.fps)
        tone = _Tone(spec)
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(frame_image(i, spec, rng), format="bgr24")
            frame.pts, frame.time_base = i, frame_tb
            out.mux(video.encode(frame))
            if audio is not None:
                # Audio encoded alongside each frame keeps the file interleaved, as a camera sends it.
                tone.encode_until(out, audio, (i + 1) / spec.fps)
        out.mux(video.encode(None))
        if audio is not None:
            out.mux(audio.encode(None))
    partial.replace(path)
    return path


class _Tone:
    CHUNK = 1024

    def __init__(self, spec: MediaSpec):
        self.spec = spec
        self.next_sample = 0

    def encode_until(self, out: av.container.OutputContainer, audio: av.AudioStream, until_s: float) -> None:
        rate = self.spec.sample_rate
        while self.next_sample + self.CHUNK <= until_s * rate:
            t = (self.next_sample + np.arange(self.CHUNK)) / rate
            samples = (0.3 * 32767 * np.sin(2 * np.pi * self.spec.tone_hz * t)).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts, frame.time_base = self.next_sample, Fraction(1, rate)
            out.mux(audio.encode(frame))
            self.next_sample += self.CHUNK
