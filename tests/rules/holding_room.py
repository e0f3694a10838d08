"""The one-camera holding room most rule tests run in, with the rules section each test needs."""
from __future__ import annotations

from custodywatch.config import Config, parse_config

HOLDING_CAMERA = """
cameras:
  - id: cam-h
    room: hold-1
    detect_url: h.mp4
    zones:
      detainee_area: [[0.6, 0.5], [1, 0.5], [1, 1], [0.6, 1]]
      guard_post: [[0, 0.5], [0.55, 0.5], [0.55, 1], [0, 1]]
"""


def holding_yaml(rooms: str) -> str:
    """`rooms`: the YAML `rooms:` section, naming room hold-1."""
    return rooms.rstrip("\n") + "\n" + HOLDING_CAMERA.lstrip("\n")


def holding_config(rooms: str) -> Config:
    return parse_config(holding_yaml(rooms))
