"""What a camera's picture looks like, in a few numbers: the input of the `video_loss` rule.

`measure_view` runs where the pixels are (the reader process live, `analyze` offline) on every
analysed frame; only the small, picklable `ViewSample` travels on to the rules. Everything is
computed on one grey thumbnail, so a 640x360 frame costs a few hundred microseconds.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# The working thumbnail: 16:9, big enough to keep edges, small enough to be cheap.
THUMB_SIZE = (160, 90)
# The coarse layout compared region by region against the reference view (turned-away camera).
LAYOUT_SIZE = (48, 27)
# The finer picture compared with the previous frame's (frozen decoder): fine enough that a live
# sensor's noise still shows through the encoder, coarse enough to ride along in a message.
DETAIL_SIZE = (80, 45)


@dataclass(frozen=True)
class ViewSample:
    """Statistics of one frame's grey thumbnail.

    brightness: mean grey level, 0..255.
    contrast: standard deviation of the grey levels (a covered lens is flat: near 0).
    sharpness: mean |Laplacian| divided by the contrast, so it does not change with the light
        level: a dimmed room keeps its value, a blurred or sprayed lens loses it.
    layout: LAYOUT_SIZE grey thumbnail, row-major bytes, for comparison with the reference view.
    detail: DETAIL_SIZE grey thumbnail, row-major bytes, for comparison with the previous frame.
    """

    brightness: float
    contrast: float
    sharpness: float
    layout: bytes
    detail: bytes

    def layout_array(self) -> np.ndarray:
        w, h = LAYOUT_SIZE
        return np.frombuffer(self.layout, dtype=np.uint8).reshape(h, w)

    def detail_array(self) -> np.ndarray:
        w, h = DETAIL_SIZE
        return np.frombuffer(self.detail, dtype=np.uint8).reshape(h, w)


def picture_change(a: ViewSample, b: ViewSample) -> float:
    """Mean absolute grey difference of two samples' detail pictures (0: the same picture)."""
    return float(np.mean(np.abs(a.detail_array().astype(np.int16) - b.detail_array().astype(np.int16))))


def measure_view(image: np.ndarray) -> ViewSample:
    """BGR uint8 HxWx3 frame -> its ViewSample."""
    small = cv2.resize(image, THUMB_SIZE, interpolation=cv2.INTER_AREA)
    return _measure_thumbnail(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))


def measure_luma(luma: np.ndarray, full_range: bool = False) -> ViewSample:
    """The decoder's luma plane (HxW uint8) -> the ViewSample of its frame, for a quarter of the
    cost of measure_view: no colour conversion of the whole frame. Video luma is limited range
    (16..235) unless `full_range`; it is stretched to the 0..255 grey of measure_view, which it
    then matches within about one grey level."""
    small = cv2.resize(luma, THUMB_SIZE, interpolation=cv2.INTER_AREA)
    if not full_range:
        small = cv2.convertScaleAbs(small, alpha=255 / 219, beta=-16 * 255 / 219)
    return _measure_thumbnail(small)


def _measure_thumbnail(grey: np.ndarray) -> ViewSample:
    mean, std = cv2.meanStdDev(grey)
    brightness, contrast = float(mean[0, 0]), float(std[0, 0])
    laplacian = cv2.Laplacian(grey, cv2.CV_16S, ksize=1)
    edge = float(np.mean(np.abs(laplacian)))
    detail = cv2.resize(grey, DETAIL_SIZE, interpolation=cv2.INTER_AREA)
    layout = cv2.resize(detail, LAYOUT_SIZE, interpolation=cv2.INTER_AREA)
    return ViewSample(
        brightness=brightness,
        contrast=contrast,
        sharpness=edge / max(contrast, 1.0),
        layout=layout.tobytes(),
        detail=detail.tobytes(),
    )
