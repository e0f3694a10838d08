"""Drawing the people an alert saw onto its snapshot: each box outlined in its role's colour, with the
role written above it, so the watch desk sees at a glance who the rule counted where."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from custodywatch.rules.person_boxes import PersonBox

# BGR. Distinct at a glance and against skin, walls and uniforms; a person in no zone is grey.
ROLE_COLOURS: dict[str | None, tuple[int, int, int]] = {
    "detainee": (0, 140, 255),  # orange
    "officer": (255, 128, 0),  # blue
    "guard": (0, 200, 0),  # green
    None: (200, 200, 200),
}


def line_width(image: np.ndarray) -> int:
    return max(2, round(int(image.shape[0]) / 240))


def pixel_box(box: PersonBox, image: np.ndarray) -> tuple[int, int, int, int]:
    h, w = image.shape[:2]
    return (round(box.x1 * (w - 1)), round(box.y1 * (h - 1)),
            round(box.x2 * (w - 1)), round(box.y2 * (h - 1)))


def draw_person_boxes(image: np.ndarray, boxes: Sequence[PersonBox]) -> np.ndarray:
    """Draws on `image` (BGR) in place and returns it."""
    width = line_width(image)
    scale = max(0.4, image.shape[0] / 720)
    for box in boxes:
        colour = ROLE_COLOURS.get(box.role, ROLE_COLOURS[None])
        x1, y1, x2, y2 = pixel_box(box, image)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, width)
        label = box.role or "person"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        # The label sits on a filled tab above the box (inside it when the box touches the top).
        top = y1 - th - base - 2 * width if y1 - th - base - 2 * width >= 0 else y1 + width
        cv2.rectangle(image, (x1, top), (x1 + tw + 2 * width, top + th + base + width), colour, cv2.FILLED)
        cv2.putText(image, label, (x1 + width, top + th + width // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 0), 1, cv2.LINE_AA)
    return image
