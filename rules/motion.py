"""Motion energy inside each detected person's box: the stillness input of `guard_asleep`.

Measured where the pixels are (the detector process live, `analyze` offline), one meter per
camera: it keeps the camera's previous frame as a small grey image and, for each box of the new
frame, reports the share of the box's pixels whose grey level changed by more than
CHANGED_GREY_LEVELS between the two frames. The same pixels are compared (not a crop that follows
the box), so a box that jitters around a still person measures nothing; the level is far above
sensor noise, so a dark room's noise measures nothing either. Only one float per detection
travels on to the rules, in the detections' data under MOTION_KEY.
"""
from __future__ import annotations

import cv2
import numpy as np

# Frames are compared at this width (height keeps the aspect): enough to see a hand move.
MOTION_WIDTH = 320
CHANGED_GREY_LEVELS = 12
# Where the energy rides along with its detections (sv.Detections.data keeps it through tracking).
MOTION_KEY = "motion"


class MotionMeter:
    """Per-camera motion energy of person boxes between consecutive analysed frames."""

    def __init__(self, width: int = MOTION_WIDTH) -> None:
        self._width = width
        self._previous: np.ndarray | None = None

    def measure(self, image: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        """BGR uint8 frame and (n, 4) boxes in its pixels -> (n,) float32 motion energy.

        The energy is the share (0..1) of the box's pixels that changed; NaN where there is no
        previous frame of the same size to compare with (the first frame, a resolution change).
        """
        h, w = image.shape[:2]
        scale = self._width / w
        size = (self._width, max(1, int(round(h * scale))))
        grey = cv2.cvtColor(cv2.resize(image, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        previous, self._previous = self._previous, grey
        boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        out = np.full(len(boxes), np.nan, dtype=np.float32)
        if previous is None or previous.shape != grey.shape:
            return out
        changed = cv2.absdiff(grey, previous) > CHANGED_GREY_LEVELS
        gh, gw = changed.shape
        for i, (x1, y1, x2, y2) in enumerate(boxes * scale):
            c1, c2 = int(np.clip(np.floor(x1), 0, gw)), int(np.clip(np.ceil(x2), 0, gw))
            r1, r2 = int(np.clip(np.floor(y1), 0, gh)), int(np.clip(np.ceil(y2), 0, gh))
            if c2 > c1 and r2 > r1:
                out[i] = float(changed[r1:r2, c1:c2].mean())
        return out
