"""One backend per model family: how to feed the network and how to read its output."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .letterbox import Letterbox, Placement

KEYPOINTS = 17


@dataclass(frozen=True)
class Candidates:
    """Anchors above the score threshold, for the whole batch, in input pixels (before NMS)."""

    image: np.ndarray  # (M,) int, index of the image in the batch, ascending
    xyxy: np.ndarray  # (M, 4) float32
    score: np.ndarray  # (M,) float32
    class_id: np.ndarray  # (M,) int
    keypoints: np.ndarray | None = None  # (M, 17, 3) float32: x, y in input pixels, confidence


class ModelBackend(ABC):
    family: ClassVar[str]
    centred: ClassVar[bool]
    rgb: ClassVar[bool]
    scale: ClassVar[float]

    def __init__(self, input_size: tuple[int, int], classes: Sequence[int] | None) -> None:
        if classes is not None and len(classes) == 0:
            raise ValueError("classes must name at least one class, or be None for all")
        self.input_size = input_size
        self.classes = None if classes is None else np.asarray(classes, np.intp)
        self._letterbox = Letterbox(input_size, centred=self.centred)
        self._blob = np.empty((0, 3, input_size[1], input_size[0]), np.float32)

    def preprocess(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, Placement]:
        """BGR uint8 images -> float32 NCHW blob (reused between calls) and where each image went."""
        batch, placement = self._letterbox(images)
        if len(self._blob) < len(batch):
            self._blob = np.empty((len(batch), *self._blob.shape[1:]), np.float32)
        blob = self._blob[: len(batch)]
        pixels = batch[..., ::-1] if self.rgb else batch
        np.multiply(pixels.transpose(0, 3, 1, 2), np.float32(self.scale), out=blob)
        return blob, placement

    @abstractmethod
    def decode(self, output: np.ndarray, score_threshold: float) -> Candidates:
        """Raw network output for a batch -> candidates scoring above `score_threshold`."""

    def _best_class(self, class_scores: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
        # Take the best of the wanted classes, not the best class overall: a person the model
        # half-believes is a "bed" must still come out as a person.
        if self.classes is not None:
            if self.classes.max(initial=-1) >= class_scores.shape[axis] or self.classes.min(initial=0) < 0:
                raise ValueError(f"classes {self.classes.tolist()} are not all in this "
                                 f"{class_scores.shape[axis]}-class model")
            class_scores = np.take(class_scores, self.classes, axis=axis)
        best = class_scores.argmax(axis=axis)
        score = np.take_along_axis(class_scores, np.expand_dims(best, axis), axis=axis).squeeze(axis)
        class_id = best if self.classes is None else self.classes[best]
        return score, class_id


def _cxcywh_to_xyxy(box: np.ndarray) -> np.ndarray:
    half = box[:, 2:4] / 2
    return np.concatenate([box[:, :2] - half, box[:, :2] + half], axis=1)


class YoloxBackend(ModelBackend):
    """Output [B, N, 5 + classes]: grid offsets, log sizes, objectness, class scores (sigmoided)."""

    family = "yolox"
    centred = False
    rgb = False
    scale = 1.0
    STRIDES = (8, 16, 32)

    def __init__(self, input_size: tuple[int, int], classes: Sequence[int] | None) -> None:
        super().__init__(input_size, classes)
        width, height = input_size
        grids, strides = [], []
        for stride in self.STRIDES:
            xs, ys = np.meshgrid(np.arange(width // stride), np.arange(height // stride))
            grids.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
            strides.append(np.full(xs.size, stride))
        self._grid = np.concatenate(grids).astype(np.float32)
        self._stride = np.concatenate(strides).astype(np.float32)[:, None]

    def decode(self, output: np.ndarray, score_threshold: float) -> Candidates:
        if output.shape[1] != len(self._grid):
            raise ValueError(f"YOLOX output has {output.shape[1]} anchors, expected {len(self._grid)} "
                             f"for input {self.input_size}")
        score, class_id = self._best_class(output[..., 5:], axis=2)
        score *= output[..., 4]
        image, anchor = np.nonzero(score > score_threshold)
        raw = output[image, anchor, :4]
        stride = self._stride[anchor]
        centre_size = np.concatenate([(raw[:, :2] + self._grid[anchor]) * stride,
                                      np.exp(raw[:, 2:4]) * stride], axis=1)
        return Candidates(image, _cxcywh_to_xyxy(centre_size), score[image, anchor],
                          class_id[image, anchor])


class UltralyticsDetectBackend(ModelBackend):
    """Output [B, 4 + classes, N]: centre/size in input pixels, then class scores (sigmoided)."""

    family = "ultralytics"
    centred = True
    rgb = True
    scale = 1 / 255

    def decode(self, output: np.ndarray, score_threshold: float) -> Candidates:
        score, class_id = self._best_class(output[:, 4:], axis=1)
        image, anchor = np.nonzero(score > score_threshold)
        return Candidates(image, _cxcywh_to_xyxy(output[image, :4, anchor]), score[image, anchor],
                          class_id[image, anchor])


class UltralyticsPoseBackend(UltralyticsDetectBackend):
    """Output [B, 5 + 17 * 3, N]: box, person score, then x, y, confidence per COCO keypoint.
    Pre-processing as the detect export."""

    family = "ultralytics_pose"

    def decode(self, output: np.ndarray, score_threshold: float) -> Candidates:
        score, class_id = self._best_class(output[:, 4:5], axis=1)
        image, anchor = np.nonzero(score > score_threshold)
        keypoints = output[image, 5:, anchor].reshape(-1, KEYPOINTS, 3)
        return Candidates(image, _cxcywh_to_xyxy(output[image, :4, anchor]), score[image, anchor],
                          class_id[image, anchor], keypoints)


BACKENDS: dict[str, type[ModelBackend]] = {
    backend.family: backend for backend in (YoloxBackend, UltralyticsDetectBackend, UltralyticsPoseBackend)
}


def recognise_family(output_shape: Sequence[int | str | None]) -> str:
    """Family from the ONNX output shape, whose batch and anchor axes are symbolic or large.

    YOLOX puts the features last ([B, N, 85]); ultralytics puts them first ([B, 84, N], pose
    [B, 56, N]). The feature axis is the one with a fixed, small size.
    """
    if len(output_shape) == 3:
        _, first, last = output_shape
        if isinstance(last, int) and (not isinstance(first, int) or last < first):
            return YoloxBackend.family
        if isinstance(first, int) and (not isinstance(last, int) or first < last):
            return (UltralyticsPoseBackend.family if first == 5 + KEYPOINTS * 3
                    else UltralyticsDetectBackend.family)
    raise ValueError(f"cannot tell the model family from its output shape {list(output_shape)}; "
                     f"set detector.family to one of {', '.join(BACKENDS)}")
