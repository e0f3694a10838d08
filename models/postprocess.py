"""Candidates of a batch -> one supervision Detections per image (NMS, back to image pixels)."""
from __future__ import annotations

from itertools import pairwise
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import supervision as sv

from .backends import KEYPOINTS, Candidates
from .letterbox import Placement


def nms(xyxy: np.ndarray, score: np.ndarray, class_id: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by class-aware non-maximum suppression, best score first."""
    xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1).astype(np.float64)
    scores, class_ids = score.astype(np.float32), class_id.astype(np.int32)
    # The stubs ask for sequences of boxes, scores and ids; OpenCV takes the arrays as they are.
    keep = cv2.dnn.NMSBoxesBatched(xywh, scores, class_ids, 0.0, iou)  # type: ignore[arg-type]
    return np.asarray(keep, np.intp).reshape(-1)


def _empty(with_keypoints: bool) -> sv.Detections:
    data: dict[str, npt.NDArray[np.generic] | list[Any]] = (
        {"keypoints": np.zeros((0, KEYPOINTS, 3), np.float32)} if with_keypoints else {})
    return sv.Detections(xyxy=np.zeros((0, 4), np.float32), confidence=np.zeros(0, np.float32),
                         class_id=np.zeros(0, np.int64), data=data)


def to_detections(found: Candidates, placement: Placement, nms_iou: float) -> list[sv.Detections]:
    n_images = len(placement.ratio)
    bounds = np.searchsorted(found.image, np.arange(n_images + 1))
    results = []
    for index, (start, stop) in enumerate(pairwise(bounds)):
        if start == stop:
            results.append(_empty(found.keypoints is not None))
            continue
        part = slice(start, stop)
        keep = nms(found.xyxy[part], found.score[part], found.class_id[part], nms_iou) + start
        data = {}
        if found.keypoints is not None:
            keypoints = found.keypoints[keep].copy()
            keypoints[..., :2] = placement.to_image(index, keypoints[..., :2])
            data["keypoints"] = keypoints.astype(np.float32)
        results.append(sv.Detections(
            xyxy=placement.to_image(index, found.xyxy[keep]).astype(np.float32),
            confidence=found.score[keep].astype(np.float32),
            class_id=found.class_id[keep].astype(np.int64),
            data=data,
        ))
    return results
