"""The object detector: BGR frames in, one supervision Detections per frame out."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import supervision as sv

from .backends import BACKENDS, ModelBackend, recognise_family
from .paths import ModelNotFoundError, resolve_model
from .postprocess import to_detections
from .session import BatchRunner, open_session

if TYPE_CHECKING:
    from custodywatch.config import DetectorConfig

__all__ = ["Detector", "ModelNotFoundError", "resolve_model"]


DEFAULT_WIDTH = 416


def fitted_input(width: int, frame_size: tuple[int, int]) -> tuple[int, int]:
    """The network input for frames of `frame_size` (w, h) at `width`: the height follows the
    frame's aspect, to the nearest multiple of 32, so little of the input is padding."""
    frame_w, frame_h = frame_size
    return width, max(32, int(round(width * frame_h / frame_w / 32)) * 32)


class Detector:
    """One onnxruntime session for a YOLOX, ultralytics detect or ultralytics pose model.

    `input_size` is either (width, height), or a width alone: then each frame size gets the
    height that fits its aspect (416 -> 416x224 for 16:9, 416x320 for 4:3), since padding costs
    inference time like picture does. Frames of different aspects in one call run as one batch
    per input shape. Not thread-safe: it reuses its input buffers between calls.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        input_size: tuple[int, int] | int = DEFAULT_WIDTH,
        providers: Sequence[str] = ("tensorrt", "cuda", "cpu"),
        family: str = "auto",
        score_threshold: float = 0.3,
        nms_iou: float = 0.45,
        classes: Sequence[int] | None = (0,),
        threads: int = 1,
    ) -> None:
        """Sides are multiples of 32; `classes` None keeps every class."""
        sides = (input_size,) if isinstance(input_size, int) else input_size
        if any(side <= 0 or side % 32 for side in sides):
            shown = "x".join(str(side) for side in sides)
            raise ValueError(f"input size {shown} must be positive multiples of 32")
        if family != "auto" and family not in BACKENDS:
            raise ValueError(f"unknown model family {family!r} (known: auto, {', '.join(BACKENDS)})")
        path = Path(model_path)
        if not path.is_file():
            raise ModelNotFoundError(f"model file {path} not found (looked in {path.parent.resolve()})")
        self._session = open_session(path, providers, threads)
        if family == "auto":
            family = recognise_family(self._session.get_outputs()[0].shape)
        self.family = family
        self.providers: list[str] = self._session.get_providers()
        self._runner = BatchRunner(self._session)
        # None: the height follows each frame's aspect.
        self.input_size: tuple[int, int] | None = None if isinstance(input_size, int) else input_size
        self.input_width = sides[0]
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self._classes = classes
        self._backends: dict[tuple[int, int], ModelBackend] = {}

    @classmethod
    def from_config(cls, cfg: DetectorConfig, model_dir: Path | None = None) -> Detector:
        return cls(
            resolve_model(cfg.model, model_dir),
            input_size=cfg.input,
            providers=cfg.providers,
            family=cfg.family,
            score_threshold=cfg.score_threshold,
            nms_iou=cfg.nms_iou,
            threads=cfg.threads,
        )

    def input_for(self, frame_size: tuple[int, int]) -> tuple[int, int]:
        """The network input (w, h) used for frames of `frame_size` (w, h)."""
        return self.input_size or fitted_input(self.input_width, frame_size)

    def detect(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        """BGR uint8 HxWx3 images of any sizes -> one Detections per image, in that image's pixels.

        Boxes are xyxy float32 with confidence and class_id; a pose model adds
        data["keypoints"] (n, 17, 3) float32: x, y in image pixels and a confidence.
        Images sharing an input shape go through the network as one batch.
        """
        groups: dict[tuple[int, int], list[int]] = {}
        for i, image in enumerate(images):
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
                raise ValueError(f"image {i} must be a non-empty BGR uint8 HxWx3 array, "
                                 f"got {image.dtype} {image.shape}")
            groups.setdefault(self.input_for((image.shape[1], image.shape[0])), []).append(i)
        results: list[sv.Detections | None] = [None] * len(images)
        for size, members in groups.items():
            backend = self._backend(size)
            blob, placement = backend.preprocess([images[i] for i in members])
            found = backend.decode(self._runner.run(blob), self.score_threshold)
            for i, dets in zip(members, to_detections(found, placement, self.nms_iou), strict=True):
                results[i] = dets
        return [r for r in results if r is not None]

    def _backend(self, size: tuple[int, int]) -> ModelBackend:
        if size not in self._backends:
            self._backends[size] = BACKENDS[self.family](size, self._classes)
        return self._backends[size]

    def warmup(self, frame_size: tuple[int, int] = (640, 360)) -> None:
        """Run one blank frame so the first real batch does not pay for allocation (or a TensorRT build)."""
        width, height = self.input_for(frame_size)
        self.detect([np.full((height, width, 3), 114, np.uint8)])
