"""What the detector reports in the holding room of tests/rules/holding_room.py's camera layout."""
from __future__ import annotations

import numpy as np
import supervision as sv


def detainee_alone() -> sv.Detections:
    """One person in the detainee area (x 0.6–1 of a 640-wide frame), nobody at the guard post."""
    return sv.Detections(xyxy=np.array([[500, 150, 560, 330]], np.float32),
                         confidence=np.array([0.9], np.float32), class_id=np.zeros(1, np.int64))
