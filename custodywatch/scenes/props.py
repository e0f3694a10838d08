"""Furniture standing in the room, that people can walk behind and be hidden by.

A prop is drawn with the people, further back first, so a person whose feet are behind the
prop's base is covered by it. The one piece of furniture is a tall steel locker, drawn rather
than cut out: no public footage of the room has one, and a plain painted box is nothing a person
detector mistakes for a person.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Steel-grey paint (BGR), its darker seams and its lit left edge.
PAINT = (112, 118, 108)
SEAM = (62, 66, 60)
LIT_EDGE = (150, 156, 146)


@dataclass(frozen=True)
class Prop:
    """A piece of furniture: BGRA image, standing with its base's centre at (x, y), `height`
    share of the frame tall."""

    name: str
    bgra: np.ndarray
    x: float
    y: float
    height: float

    def __post_init__(self) -> None:
        if self.bgra.ndim != 3 or self.bgra.shape[2] != 4 or self.bgra.dtype != np.uint8:
            raise ValueError(f"prop {self.name!r} must be an HxWx4 uint8 BGRA image")

    @property
    def aspect(self) -> float:
        return int(self.bgra.shape[1]) / int(self.bgra.shape[0])

    def box(self, frame_size: tuple[int, int]) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in shares of the frame."""
        frame_w, frame_h = frame_size
        half_width = self.height * frame_h * self.aspect / frame_w / 2
        return self.x - half_width, self.y - self.height, self.x + half_width, self.y


def locker_image(width_px: int = 120, height_px: int = 300, doors: int = 2) -> np.ndarray:
    """A steel double locker, front view, opaque (BGRA)."""
    image = np.empty((height_px, width_px, 3), np.uint8)
    image[:] = PAINT
    # Light from the left: the paint darkens a little to the right.
    shade = np.linspace(1.05, 0.85, width_px, dtype=np.float32)[None, :, None]
    image = np.clip(image.astype(np.float32) * shade, 0, 255).astype(np.uint8)
    door_w = width_px // doors
    for d in range(doors):
        x0 = d * door_w
        cv2.rectangle(image, (x0 + 2, 4), (x0 + door_w - 3, height_px - 14), SEAM, 2)
        # Ventilation slots near the top, a handle at mid height.
        for row in range(4):
            y = 16 + row * 7
            cv2.line(image, (x0 + door_w // 4, y), (x0 + 3 * door_w // 4, y), SEAM, 2)
        handle_x = x0 + door_w - 12
        cv2.rectangle(image, (handle_x, height_px // 2 - 12), (handle_x + 4, height_px // 2 + 12), SEAM, -1)
    cv2.line(image, (1, 0), (1, height_px - 1), LIT_EDGE, 2)
    # The plinth the locker stands on.
    cv2.rectangle(image, (0, height_px - 12), (width_px - 1, height_px - 1), SEAM, -1)
    alpha = np.full((height_px, width_px, 1), 255, np.uint8)
    return np.dstack([image, alpha])


def locker(x: float, y: float, height: float) -> Prop:
    return Prop("locker", locker_image(), x, y, height)
