"""Fit images of any size into one fixed-size batch, and map results back to each image."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114


@dataclass(frozen=True)
class Placement:
    """Where each image sits in the batch: input = image * ratio + pad."""

    ratio: np.ndarray  # (B,) float32
    pad: np.ndarray  # (B, 2) float32, x then y
    sizes: np.ndarray  # (B, 2) float32, image width then height

    def to_image(self, index: int, xy: np.ndarray) -> np.ndarray:
        """Input-pixel coordinates (..., 2k) of image `index` to that image's pixels, clipped to it."""
        pad = np.tile(self.pad[index], xy.shape[-1] // 2)
        size = np.tile(self.sizes[index], xy.shape[-1] // 2)
        clipped: np.ndarray = np.clip((xy - pad) / self.ratio[index], 0, size)
        return clipped


class Letterbox:
    """Resizes each image once, straight into a reused uint8 batch array (B, H, W, 3).

    The array is reused between calls, so a batch is only valid until the next call.
    """

    def __init__(self, input_size: tuple[int, int], centred: bool) -> None:
        self.width, self.height = input_size
        self.centred = centred
        self._buffer = np.empty((0, self.height, self.width, 3), np.uint8)

    def __call__(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, Placement]:
        n = len(images)
        if len(self._buffer) < n:
            self._buffer = np.empty((n, self.height, self.width, 3), np.uint8)
        batch = self._buffer[:n]
        batch.fill(PAD_VALUE)
        sizes = np.array([(img.shape[1], img.shape[0]) for img in images], np.float32)
        ratio = np.minimum(self.width / sizes[:, 0], self.height / sizes[:, 1])
        scaled = np.maximum(np.round(sizes * ratio[:, None]), 1).astype(np.int32)
        pad = ((np.array([self.width, self.height]) - scaled) // 2 if self.centred
               else np.zeros_like(scaled))
        for img, dst, (w, h), (x, y) in zip(images, batch, scaled, pad, strict=True):
            region = dst[y:y + h, x:x + w]
            if (w, h) == (img.shape[1], img.shape[0]):
                region[...] = img
            else:
                cv2.resize(img, (int(w), int(h)), dst=region, interpolation=cv2.INTER_LINEAR)
        return batch, Placement(ratio.astype(np.float32), pad.astype(np.float32), sizes)
