"""cameras.yaml validation: every error names its file, line and key; the example passes."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from custodywatch.config import ConfigError, load_config, parse_config, redact_url

ROOT = Path(__file__).resolve().parents[2]

VALID = textwrap.dedent("""\
    site: {id: test-site, box_id: box1, timezone: Asia/Shanghai}
    rooms:
      - id: interrogation-1
        type: interrogation
        rules:
          single_officer: {after_s: 20}
      - id: holding-1
        type: holding
        rules:
          guard_absent: {warn_after_s: 15, alarm_after_s: 30}
    cameras:
      - id: cam-i1
        room: interrogation-1
        detect_url: rtsp://user:secret@127.0.0.1:8554/i1
        fps: 2
        zones:
          detainee_seat: [[0.6, 0.6], [1.0, 0.6], [1.0, 1.0], [0.6, 1.0]]
          officer_area: [[0.0, 0.6], [0.55, 0.6], [0.55, 1.0], [0.0, 1.0]]
      - id: cam-h1
        room: holding-1
        detect_url: holding.mp4
        zones:
          detainee_area: [[0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [0.0, 1.0]]
          guard_post: [[0.6, 0.5], [1.0, 0.5], [1.0, 1.0], [0.6, 1.0]]
    """)


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "cams.yaml")
    return [(p.line, p.path, p.message) for p in info.value.problems]


def test_valid_config_gets_defaults():
    cfg = parse_config(VALID)
    assert cfg.detector.input == 416
    assert cfg.roles.enter_s == 1.5 and cfg.roles.exit_s == 5
    assert cfg.camera("cam-h1").fps == 2
    assert [c.id for c in cfg.cameras_in("holding-1")] == ["cam-h1"]


def test_repository_example_passes():
    load_config(ROOT / "cameras.yaml")


@pytest.mark.parametrize(
    "old, new, line, path, message",
    [
        ("    fps: 2\n", "    fps: 2\n    colour: red\n", 16, "cameras[0].colour", "unknown key"),
        ("[0.5, 1.0], [0.0, 1.0]]\n      guard_post", "[1.5, 1.0], [0.0, 1.0]]\n      guard_post", 23,
         "cameras[1].zones.detainee_area[2][0]", "less than or equal to 1"),
        ("detainee_seat: [[0.6, 0.6], [1.0, 0.6], [1.0, 1.0], [0.6, 1.0]]",
         "detainee_seat: [[0.6, 0.6], [1.0, 0.6]]", 17, "cameras[0].zones.detainee_seat", "at least 3"),
        ("detainee_seat: [[0.6, 0.6], [1.0, 0.6], [1.0, 1.0], [0.6, 1.0]]",
         "detainee_seat: [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]", 17, "cameras[0].zones.detainee_seat",
         "no area"),
        ("    room: holding-1\n", "    room: holding-9\n", 20, "cameras[1].room",
         "room 'holding-9' is not defined"),
        ("      guard_post:", "      officer_area:", 24, "cameras[1].zones.officer_area",
         "not valid in a holding room"),
        ("  - id: cam-h1", "  - id: cam-i1", 19, "cameras[1].id", "duplicate id 'cam-i1'"),
        ("single_officer: {after_s: 20}", "single_officer: {warn_after_s: 20}", 6,
         "rooms[0].rules.single_officer.warn_after_s", "one level"),
        ("{warn_after_s: 15, alarm_after_s: 30}", "{warn_after_s: 45, alarm_after_s: 30}", 10,
         "rooms[1].rules.guard_absent.warn_after_s", "must be less than"),
        ("single_officer: {after_s: 20}", "guard_absent: {warn_after_s: 20, alarm_after_s: 30}", 6,
         "rooms[0].rules.guard_absent", "does not apply to a interrogation room"),
        ("    type: holding", "    type: cell", 8, "rooms[1].type", "Input should be"),
        ("  - id: cam-i1\n", "  - id: Cam I1\n", 12, "cameras[0].id", "not a valid id"),
        ("timezone: Asia/Shanghai", "timezone: Mars/Olympus", 1, "site.timezone", "unknown time zone"),
        ("    fps: 2\n", "    fps: -2\n", 15, "cameras[0].fps", "greater than 0"),
        ("    detect_url: holding.mp4\n", "", 19, "cameras[1].detect_url", "required key is missing"),
    ],
)
def test_each_error_names_line_and_key(old, new, line, path, message):
    assert old in VALID
    found = problems(VALID.replace(old, new, 1))
    assert any(ln == line and p == path and message in m for ln, p, m in found), found


def test_room_without_its_zones_is_reported():
    text = VALID.replace("      guard_post: [[0.6, 0.5], [1.0, 0.5], [1.0, 1.0], [0.6, 1.0]]\n", "")
    message = "holding room 'holding-1' needs zone 'guard_post' on one of its cameras"
    assert (7, "rooms[1].id", message) in problems(text)


def test_yaml_syntax_and_duplicate_keys():
    assert problems("rooms: [\n")[0][1] == "(yaml)"
    dup = VALID.replace("    rooms:\n", "rooms:\n", 1).replace("site: {", "rooms: []\nsite: {", 1)
    assert any(m == "duplicate key" for _, _, m in problems(dup))


def test_credentials_are_redacted():
    assert redact_url("rtsp://user:secret@10.0.0.1:554/sub") == "rtsp://***@10.0.0.1:554/sub"
    assert redact_url("/videos/a.mp4") == "/videos/a.mp4"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "custodywatch.cli", *args], capture_output=True, text=True,
                          timeout=60)


def test_check_config_cli(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(VALID)
    ok = run_cli("check-config", str(good))
    assert ok.returncode == 0
    assert ok.stdout.count("\n") == 1 and "2 rooms, 2 cameras" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(VALID.replace("    fps: 2\n", "    fps: 2\n    colour: red\n"))
    res = run_cli("check-config", str(bad))
    assert res.returncode == 2
    assert res.stderr.strip() == f"{bad}:16: cameras[0].colour: unknown key"
    missing = run_cli("check-config", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr and "not found" in missing.stderr
