"""Putting one camera's zones into a config file by a text edit: whatever layout the file has, only
that camera's zones change, and every other line (comments included) stays."""
from __future__ import annotations

from pathlib import Path

import pytest

from custodywatch.config import parse_config
from custodywatch.config_edit import ConfigFileInvalid, ZoneEditError, edit_zones, write_config_file
from custodywatch.vocabulary import Zone

ROOMS = """\
# rooms first
rooms:
  - {id: holding-1, type: holding}
  - {id: corridor-1, type: corridor}   # the long one
"""
HOLDING = {"detainee_area": [[0.0, 0.5], [0.6, 0.5], [0.6, 1.0], [0.0, 1.0]],
           "guard_post": [[0.65, 0.5], [1.0, 0.5], [1.0, 1.0]]}
NEW_GUARD_POST = [[0.7, 0.6], [0.95, 0.6], [0.95, 0.95], [0.7, 0.95]]

LAYOUTS = {
    "block zones of block sequences": """\
cameras:
  - id: cam-h1
    room: holding-1
    detect_url: rtsp://u:p@10.0.0.12/sub
    zones:
      detainee_area:
      - [0.0, 0.5]
      - [0.6, 0.5]
      - [0.6, 1.0]
      - [0.0, 1.0]
      guard_post: [[0.65, 0.5], [1.0, 0.5], [1.0, 1.0]]   # by the door
  - id: cam-c1   # after the edited block
    room: corridor-1
    detect_url: rtsp://u:p@10.0.0.13/sub
""",
    "flow zones": """\
cameras:
  - id: cam-h1
    room: holding-1
    detect_url: rtsp://u:p@10.0.0.12/sub
    zones: {detainee_area: [[0.0, 0.5], [0.6, 0.5], [0.6, 1.0], [0.0, 1.0]],
            guard_post: [[0.65, 0.5], [1.0, 0.5], [1.0, 1.0]]}
    fps: 2   # after the zones
  - {id: cam-c1, room: corridor-1, detect_url: "rtsp://u:p@10.0.0.13/sub"}
""",
    "a flow camera": """\
cameras:
  - {id: cam-c1, room: corridor-1, detect_url: "rtsp://u:p@10.0.0.13/sub"}
  - {id: cam-h1, room: holding-1, detect_url: "rtsp://u:p@10.0.0.12/sub",
     zones: {detainee_area: [[0.0, 0.5], [0.6, 0.5], [0.6, 1.0], [0.0, 1.0]],
             guard_post: [[0.65, 0.5], [1.0, 0.5], [1.0, 1.0]]}}
""",
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_only_the_cameras_zones_change_and_every_other_line_stays(layout: str) -> None:
    text = ROOMS + LAYOUTS[layout]
    before = parse_config(text)

    edit = edit_zones(text, "cam-h1", {**HOLDING, "guard_post": NEW_GUARD_POST})

    after = parse_config(edit.text)
    assert [list(p) for p in after.camera("cam-h1").zones[Zone.GUARD_POST]] == NEW_GUARD_POST
    assert after.camera("cam-h1").zones[Zone.DETAINEE_AREA] == before.camera("cam-h1").zones[
        Zone.DETAINEE_AREA]
    assert after.camera("cam-c1") == before.camera("cam-c1") and after.rooms == before.rooms
    zone_lines = ("[", "zones", "detainee_area", "guard_post")
    kept = [line for line in text.splitlines() if not any(part in line for part in zone_lines)]
    assert [line for line in edit.text.splitlines() if line in kept] == kept


def test_zones_are_added_to_a_camera_without_any_after_its_last_line() -> None:
    text = ROOMS + """\
cameras:
  - id: cam-h1
    room: holding-1
    detect_url: rtsp://u:p@10.0.0.12/sub
    zones: {detainee_area: [[0.0, 0.5], [0.6, 0.5], [0.6, 1.0]], guard_post: [[0.7, 0.5], [1, 0.5], [1, 1]]}
  - id: cam-c1
    room: corridor-1
    detect_url: rtsp://u:p@10.0.0.13/sub   # no zones yet
"""
    edit = edit_zones(text, "cam-c1", {})

    assert "    detect_url: rtsp://u:p@10.0.0.13/sub   # no zones yet\n    zones: {}\n" in edit.text
    assert parse_config(edit.text).camera("cam-c1").zones == {}


def test_a_zone_name_cannot_break_out_of_the_yaml() -> None:
    text = ROOMS + LAYOUTS["flow zones"]
    with pytest.raises(ZoneEditError) as caught:
        edit_zones(text, "cam-h1", {**HOLDING, "x: 1}\nsite: {id: evil": [[0, 0], [1, 0], [1, 1]]})
    assert any("zones.x: 1}" in p.path for p in caught.value.problems), caught.value.problems


def test_a_file_invalid_as_it_is_refuses_any_edit() -> None:
    with pytest.raises(ConfigFileInvalid):
        edit_zones(ROOMS.replace("holding}", "cellar}") + LAYOUTS["flow zones"], "cam-h1", HOLDING)


def test_writing_keeps_the_old_file_as_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text("old\n")
    path.chmod(0o640)

    first = write_config_file(path, "new\n", now=0)
    second = write_config_file(path, "newer\n", now=0)

    assert (first.name, second.name) == ("cameras.yaml.19700101T000000Z.bak",
                                         "cameras.yaml.19700101T000000Z-2.bak")
    assert (path.read_text(), first.read_text(), second.read_text()) == ("newer\n", "old\n", "new\n")
    assert path.stat().st_mode & 0o777 == 0o640
    assert {p.name for p in tmp_path.iterdir()} == {"cameras.yaml", first.name, second.name}
