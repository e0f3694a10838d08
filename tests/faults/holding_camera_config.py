"""The cameras.yaml the fault tests give `analyze`: one holding room seen by one camera."""
from __future__ import annotations

from pathlib import Path

HOLDING_CONFIG = """\
rooms:
  - {id: holding-1, type: holding}
cameras:
  - id: cam-h1
    room: holding-1
    detect_url: holding.mp4
    zones:
      detainee_area: [[0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [0.0, 1.0]]
      guard_post: [[0.6, 0.5], [1.0, 0.5], [1.0, 1.0], [0.6, 1.0]]
"""


def write_holding_config(directory: Path) -> Path:
    path = directory / "cameras.yaml"
    path.write_text(HOLDING_CONFIG)
    return path
