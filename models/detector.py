"""The object detector: BGR frames in, one supervision Detections per frame out."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import supervision as sv

from .backends import BACKENDS, recognise_family
from .paths import ModelNotFoundError, resolve_model
from .postprocess import to_detections
from .session import open_session

if TYPE_CHECKING:
    from custodywatch.config import DetectorConfig

__all__ = ["Detector", "ModelNotFoundError", "resolve_model"]


class Detector:
    """One onnxruntime session for a YOLOX, ultralytics detect or ultralytics pose model.

    Not thread-safe: it reuses its input buffers between calls.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        input_size: tuple[int, int] = (416, 256),
        providers: Sequence[str] = ("tensorrt", "cuda", "cpu"),
        family: str = "auto",
        score_threshold: float = 0.3,
        nms_iou: float = 0.45,
        classes: Sequence[int] | None = (0,),
        threads: int = 1,
    ) -> None:
        """`input_size` is (width, height), both multiples of 32; `classes` None keeps every class."""
        width, height = input_size
        if width <= 0 or height <= 0 or width % 32 or height % 32:
            raise ValueError(f"input size {width}x{height} must be positive multiples of 32")
        if family != "auto" and family not in BACKENDS:
            raise ValueError(f"unknown model family {family!r} (known: auto, {', '.join(BACKENDS)})")
        path = Path(model_path)
        if not path.is_file():
            raise ModelNotFoundError(f"model file {path} not found (looked in {path.parent.resolve()})")
        self._session = open_session(path, providers, threads)
        self._input_name = self._session.get_inputs()[0].name
        if family == "auto":
            family = recognise_family(self._session.get_outputs()[0].shape)
        self.family = family
        self.providers: list[str] = self._session.get_providers()
        self.input_size = (width, height)
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self._backend = BACKENDS[family]((width, height), classes)

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

    def detect(self, images: Sequence[np.ndarray]) -> list[sv.Detections]:
        """BGR uint8 HxWx3 images of any sizes -> one Detections per image, in that image's pixels.

        Boxes are xyxy float32 with confidence and class_id; a pose model adds
        data["keypoints"] (n, 17, 3) float32: x, y in image pixels and a confidence.
        The whole list goes through the network as one batch.
        """
        if not images:
            return []
        for i, image in enumerate(images):
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
                raise ValueError(f"image {i} must be a non-empty BGR uint8 HxWx3 array, "
                                 f"got {image.dtype} {image.shape}")
        blob, placement = self._backend.preprocess(images)
        # Plain run() on every provider: the output is decoded on the CPU anyway, so IO binding
        # would save no copy.
        (output,) = self._session.run(None, {self._input_name: blob})
        found = self._backend.decode(output, self.score_threshold)
        return to_detections(found, placement, self.nms_iou)

    def warmup(self) -> None:
        """Run one blank frame so the first real batch does not pay for allocation (or a TensorRT build)."""
        width, height = self.input_size
        self.detect([np.full((height, width, 3), 114, np.uint8)])
