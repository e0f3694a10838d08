"""A person's posture from pose keypoints: upright (awake, reading, typing) or slumped (asleep).

COCO keypoints as the pose model gives them, (17, 3): x, y in image pixels and a confidence.
Slumped is the head dropped to or below the shoulders, or the torso leaning more than
SLUMP_TORSO_DEG from vertical; someone reading or typing bends the neck a little and keeps the
torso up, so they stay upright.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

import cv2
import numpy as np
import supervision as sv

NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR = 0, 1, 2, 3, 4
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = 5, 6, 11, 12
MIN_CONFIDENCE = 0.4
SLUMP_TORSO_DEG = 45.0
POSE_INTERVAL_S = 10.0


class Posture(StrEnum):
    UPRIGHT = "upright"
    SLUMPED = "slumped"
    UNKNOWN = "unknown"


def _mean_point(kpts: np.ndarray, idx: tuple[int, ...]) -> tuple[float, float] | None:
    seen = [kpts[i] for i in idx if kpts[i, 2] >= MIN_CONFIDENCE]
    if not seen:
        return None
    return float(np.mean([p[0] for p in seen])), float(np.mean([p[1] for p in seen]))


def posture_of(keypoints: np.ndarray) -> Posture:
    """Posture of one person from their (17, 3) keypoints."""
    kpts = np.asarray(keypoints, dtype=np.float64).reshape(17, 3)
    shoulders = _mean_point(kpts, (LEFT_SHOULDER, RIGHT_SHOULDER))
    if shoulders is None:
        return Posture.UNKNOWN
    head = _mean_point(kpts, (NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR))
    hips = _mean_point(kpts, (LEFT_HIP, RIGHT_HIP))
    if head is not None and head[1] >= shoulders[1]:  # image y grows downwards
        return Posture.SLUMPED
    if hips is not None:
        dx, dy = shoulders[0] - hips[0], hips[1] - shoulders[1]
        if math.degrees(math.atan2(abs(dx), dy)) > SLUMP_TORSO_DEG:
            return Posture.SLUMPED
    if head is None and hips is None:
        return Posture.UNKNOWN
    return Posture.UPRIGHT


class PoseModel(Protocol):
    def detect(self, images: Sequence[np.ndarray]) -> list[sv.Detections]: ...


class GuardPostureReader:
    """Reads the guard's posture with a pose model, on crops of the guard's box, every `interval_s`.

    The pose model is far dearer than the detector, so it runs on the guard post's people only and
    at a low rate; stillness covers the time in between.
    """

    def __init__(self, model: PoseModel, interval_s: float = POSE_INTERVAL_S, margin: float = 0.15):
        self._model = model
        self.interval_s = interval_s
        self._margin = margin
        self._last_at = -math.inf

    def due(self, t: float) -> bool:
        return t - self._last_at >= self.interval_s

    def read(self, t: float, image: np.ndarray, boxes: np.ndarray) -> Posture:
        """The posture of the people in `boxes` (any upright one makes the post upright)."""
        self._last_at = t
        h, w = image.shape[:2]
        crops = []
        for x1, y1, x2, y2 in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
            mx, my = (x2 - x1) * self._margin, (y2 - y1) * self._margin
            c1, c2 = int(max(0, x1 - mx)), int(min(w, x2 + mx))
            r1, r2 = int(max(0, y1 - my)), int(min(h, y2 + my))
            if c2 - c1 >= 8 and r2 - r1 >= 8:
                crops.append(np.ascontiguousarray(image[r1:r2, c1:c2]))
        if not crops:
            return Posture.UNKNOWN
        postures = []
        for found in self._model.detect(crops):
            keypoints = found.data.get("keypoints") if len(found) else None
            if keypoints is None or found.confidence is None:
                continue
            postures.append(posture_of(np.asarray(keypoints)[int(np.argmax(found.confidence))]))
        if Posture.UPRIGHT in postures:
            return Posture.UPRIGHT
        return Posture.SLUMPED if Posture.SLUMPED in postures else Posture.UNKNOWN


class GuardPostPosture:
    """The posture at one camera's guard post, read where the pixels are (the detector process
    live, `analyze` offline) every `interval_s`; only the Posture travels on.

    People count as at the post by their anchor (bottom centre of the box), as for roles.
    """

    def __init__(self, guard_post: Sequence[tuple[float, float]], model: PoseModel,
                 interval_s: float = POSE_INTERVAL_S):
        self._zone = np.asarray(guard_post, dtype=np.float32).reshape(-1, 1, 2)
        self._reader = GuardPostureReader(model, interval_s)

    def read(self, t: float, image: np.ndarray, xyxy: np.ndarray) -> Posture | None:
        """The posture of the people at the post, or None when no reading is due or nobody is there."""
        if not self._reader.due(t):
            return None
        h, w = image.shape[:2]
        boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        at_post = [cv2.pointPolygonTest(self._zone, (float((x1 + x2) / 2 / w), float(y2 / h)), False) >= 0
                   for x1, _, x2, y2 in boxes]
        if not any(at_post):
            return None
        return self._reader.read(t, image, boxes[np.asarray(at_post)])
