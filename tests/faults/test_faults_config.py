"""Malformed cameras.yaml: every mistake an installer can make stops `check-config` (and `run`) with
exit 2 and a line `FILE:LINE: key.path: message` that points at it; nothing stored changes."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custodywatch.cli import main
from custodywatch.config import ConfigError, parse_config

# The line numbers in the cases below count lines of this text.
BASE = """\
site: {id: test-site, box_id: box1, timezone: Asia/Shanghai}
detector: {model: yolox_nano_coco_dynamic.onnx, input: 416, score_threshold: 0.3}
roles: {enter_s: 1.5, exit_s: 5}
custody: {warn_before_s: [7200, 3600, 1800]}
recorder: {segment_s: 60, retention_days: 180}
api: {host: 127.0.0.1, port: 8080}
rooms:
  - id: interrogation-1
    type: interrogation
    rules:
      single_officer: {after_s: 60}
  - id: holding-1
    type: holding
    rules:
      guard_absent: {warn_after_s: 60, alarm_after_s: 120}
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
"""
SEAT = "detainee_seat: [[0.6, 0.6], [1.0, 0.6], [1.0, 1.0], [0.6, 1.0]]"
GUARD_POST = "      guard_post: [[0.6, 0.5], [1.0, 0.5], [1.0, 1.0], [0.6, 1.0]]\n"


@dataclass(frozen=True)
class Case:
    old: str  # replaced once in BASE by `new`; "" replaces the whole text
    new: str
    line: int
    path: str  # the key path the message must name (a prefix of it, for list items)
    says: str  # part of the message


CASES: dict[str, Case] = {
    # YAML itself
    "yaml: a tab for indentation": Case("    type: holding", "\ttype: holding", 13, "(yaml)",
                                        "not valid YAML"),
    "yaml: unclosed flow sequence": Case("    fps: 2\n", "    fps: [2\n", 21, "(yaml)", "not valid YAML"),
    "yaml: key indented under a scalar": Case("    room: holding-1", "      room: holding-1", 25, "(yaml)",
                                              "not valid YAML"),
    "yaml: the same key twice": Case("    fps: 2\n", "    fps: 2\n    fps: 3\n", 21, "cameras[0].fps",
                                     "duplicate key"),
    "yaml: a list instead of sections": Case("", "- rooms\n- cameras\n", 1, "(top)", "mapping of sections"),
    # unknown and missing keys
    "unknown top-level section": Case("cameras:\n", "cammeras: {}\ncameras:\n", 16, "cammeras",
                                      "unknown key"),
    "unknown camera key": Case("    fps: 2\n", "    fps: 2\n    colour: red\n", 21, "cameras[0].colour",
                               "unknown key"),
    "unknown rule key": Case("{after_s: 60}", "{after_s: 60, after_m: 1}", 11,
                             "rooms[0].rules.single_officer.after_m", "unknown key"),
    "rooms section missing": Case("", BASE.split("rooms:\n")[0] + "cameras:\n" + BASE.split("cameras:\n")[1],
                                  1, "rooms", "required key is missing"),
    "camera without a room": Case("    room: holding-1\n", "", 24, "cameras[1].room",
                                  "required key is missing"),
    "camera without detect_url": Case("    detect_url: holding.mp4\n", "", 24, "cameras[1].detect_url",
                                      "required key is missing"),
    # wrong types
    "fps is a word": Case("fps: 2", "fps: fast", 20, "cameras[0].fps", "valid number"),
    "site is a list": Case("site: {id: test-site, box_id: box1, timezone: Asia/Shanghai}",
                           "site: [test-site]", 1, "site", "valid dictionary"),
    "detect_url is a list": Case("detect_url: holding.mp4", "detect_url: [holding.mp4]", 26,
                                 "cameras[1].detect_url", "valid string"),
    "enabled is not a boolean": Case("single_officer: {after_s: 60}", "single_officer: {enabled: maybe}", 11,
                                     "rooms[0].rules.single_officer.enabled", "valid boolean"),
    "api port is a word": Case("port: 8080", "port: http", 6, "api.port", "valid integer"),
    # ids, rooms, cameras
    "camera id with capitals and a space": Case("  - id: cam-h1", "  - id: Cam H1", 24, "cameras[1].id",
                                                "not a valid id"),
    "duplicate camera id": Case("  - id: cam-h1", "  - id: cam-i1", 24, "cameras[1].id",
                                "duplicate id 'cam-i1'"),
    "duplicate room id": Case("  - id: holding-1", "  - id: interrogation-1", 12, "rooms[1].id",
                              "duplicate id 'interrogation-1'"),
    "camera in an unknown room": Case("    room: holding-1", "    room: holding-9", 25, "cameras[1].room",
                                      "room 'holding-9' is not defined"),
    "unknown room type": Case("    type: holding", "    type: cell", 13, "rooms[1].type", "Input should be"),
    "room without a camera": Case("cameras:\n", "  - {id: corridor-1, type: corridor}\ncameras:\n", 16,
                                  "rooms[2].id", "room 'corridor-1' has no camera"),
    # zones
    "holding room without its guard post": Case(GUARD_POST, "", 12, "rooms[1].id", "needs zone 'guard_post'"),
    "zone of another room type": Case("      guard_post:", "      officer_area:", 29,
                                      "cameras[1].zones.officer_area", "not valid in a holding room"),
    "unknown zone name": Case(GUARD_POST, "      exit_door: [[0, 0], [1, 0], [1, 1]]\n" + GUARD_POST, 29,
                              "cameras[1].zones.exit_door", "Input should be"),
    "polygon of two points": Case(SEAT, "detainee_seat: [[0.6, 0.6], [1.0, 0.6]]", 22,
                                  "cameras[0].zones.detainee_seat", "at least 3"),
    "polygon with its points in a line": Case(SEAT, "detainee_seat: [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]", 22,
                                              "cameras[0].zones.detainee_seat", "no area"),
    "self-intersecting polygon": Case(SEAT, "detainee_seat: [[0.6, 0.6], [1.0, 1.0], [1.0, 0.6], [0.6, 1.0], "
                                            "[0.7, 0.9]]", 22, "cameras[0].zones.detainee_seat",
                                      "cross each other"),
    "polygon point right of the frame": Case("detainee_seat: [[0.6, 0.6], [1.0, 0.6]",
                                             "detainee_seat: [[0.6, 0.6], [1.2, 0.6]", 22,
                                             "cameras[0].zones.detainee_seat[1][0]",
                                             "less than or equal to 1"),
    "polygon point left of the frame": Case("officer_area: [[0.0, 0.6]", "officer_area: [[-0.1, 0.6]", 23,
                                            "cameras[0].zones.officer_area[0][0]",
                                            "greater than or equal to 0"),
    "polygon point with one number": Case("[0.5, 0.5]", "[0.5]", 28, "cameras[1].zones.detainee_area[1]",
                                          "too few values"),
    # URLs
    "detect_url scheme typo": Case("detect_url: holding.mp4", "detect_url: rstp://10.0.0.12/sub", 26,
                                   "cameras[1].detect_url", "unknown URL scheme 'rstp'"),
    "record_url with an unknown scheme": Case("    detect_url: holding.mp4\n",
                                              "    detect_url: holding.mp4\n"
                                              "    record_url: ftp://admin:hunter2@10.0.0.12/main\n", 27,
                                              "cameras[1].record_url", "unknown URL scheme 'ftp'"),
    "empty detect_url": Case("detect_url: holding.mp4", "detect_url: ''", 26, "cameras[1].detect_url",
                             "at least 1 character"),
    # numbers out of range
    "fps zero": Case("fps: 2", "fps: 0", 20, "cameras[0].fps", "greater than 0"),
    "fps negative": Case("fps: 2", "fps: -2", 20, "cameras[0].fps", "greater than 0"),
    "fps far too high": Case("fps: 2", "fps: 500", 20, "cameras[0].fps", "less than or equal to 30"),
    "negative rule threshold": Case("{after_s: 60}", "{after_s: -5}", 11,
                                    "rooms[0].rules.single_officer.after_s", "greater than 0"),
    "zero rule threshold": Case("{warn_after_s: 60, alarm_after_s: 120}",
                                "{warn_after_s: 0, alarm_after_s: 120}", 15,
                                "rooms[1].rules.guard_absent.warn_after_s", "greater than 0"),
    "negative cooldown": Case("{after_s: 60}", "{after_s: 60, cooldown_s: -30}", 11,
                              "rooms[0].rules.single_officer.cooldown_s", "greater than or equal to 0"),
    "negative zone exit time": Case("exit_s: 5", "exit_s: -5", 3, "roles.exit_s",
                                    "greater than or equal to 0"),
    "score threshold above 1": Case("score_threshold: 0.3", "score_threshold: 1.5", 2,
                                    "detector.score_threshold", "less than 1"),
    "detector input not a multiple of 32": Case("input: 416", "input: 400", 2, "detector.input",
                                                "not a multiple of 32"),
    # rules
    "warning after the alarm": Case("{warn_after_s: 60, alarm_after_s: 120}",
                                    "{warn_after_s: 120, alarm_after_s: 60}", 15,
                                    "rooms[1].rules.guard_absent.warn_after_s", "must be less than"),
    "warning level on a one-level rule": Case("single_officer: {after_s: 60}",
                                              "single_officer: {warn_after_s: 20}", 11,
                                              "rooms[0].rules.single_officer.warn_after_s", "one level"),
    "after_s on a two-level rule": Case("{warn_after_s: 60, alarm_after_s: 120}", "{after_s: 60}", 15,
                                        "rooms[1].rules.guard_absent.after_s", "two levels"),
    "unknown rule id": Case("single_officer: {after_s: 60}", "lone_officer: {after_s: 60}", 11,
                            "rooms[0].rules.lone_officer", "Input should be"),
    "rule of another room type": Case("single_officer: {after_s: 60}",
                                      "guard_absent: {warn_after_s: 20, alarm_after_s: 30}", 11,
                                      "rooms[0].rules.guard_absent",
                                      "does not apply to a interrogation room"),
    # other sections
    "unknown time zone": Case("timezone: Asia/Shanghai", "timezone: Mars/Olympus", 1, "site.timezone",
                              "unknown time zone"),
    "unknown provider": Case("score_threshold: 0.3", "score_threshold: 0.3, providers: [gpu]", 2,
                             "detector.providers[0]", "Input should be"),
    "custody limit zero": Case("custody: {warn_before_s: [7200, 3600, 1800]}",
                               "custody: {limits_s: {summons: 0}}", 4, "custody.limits_s.summons",
                               "greater than 0"),
    "custody warning before a negative time": Case("[7200, 3600, 1800]", "[7200, -1]", 4,
                                                   "custody.warn_before_s[1]", "greater than 0"),
    "retention of zero days": Case("retention_days: 180", "retention_days: 0", 5, "recorder.retention_days",
                                   "greater than or equal to 1"),
    "retention for an unknown room": Case("retention_days: 180", "retention_days: 180, "
                                                                 "retention_days_by_room: {holding-9: 30}", 5,
                                          "recorder.retention_days_by_room.holding-9",
                                          "room 'holding-9' is not defined"),
    "segments of one second": Case("segment_s: 60", "segment_s: 1", 5, "recorder.segment_s",
                                   "greater than or equal to 2"),
    "api port out of range": Case("port: 8080", "port: 70000", 6, "api.port", "less than or equal to 65535"),
    "empty api host": Case("host: 127.0.0.1", "host: ''", 6, "api.host", "at least 1 character"),
    "tls certificate without its key": Case("port: 8080}", "port: 8080, tls_cert: cert.pem}", 6, "api",
                                            "tls_cert and tls_key go together"),
}


def check_config(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["check-config", str(path)])
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing that looks like a summary of a valid config
    return code, captured.err.splitlines()


def test_the_base_config_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text(BASE)
    assert main(["check-config", str(path)]) == 0
    assert "2 rooms, 2 cameras" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_config_exits_2_naming_file_line_and_key(name: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    case = CASES[name]
    if case.old:
        assert BASE.count(case.old) == 1, "the case must change exactly one place"
        text = BASE.replace(case.old, case.new)
    else:
        text = case.new
    path = tmp_path / "cameras.yaml"
    path.write_text(text)
    code, errors = check_config(path, capsys)
    assert code == 2
    prefix = f"{path}:{case.line}: {case.path}"
    assert any(e.startswith(prefix) and case.says in e for e in errors), (prefix, case.says, errors)
    assert all(e.startswith(f"{path}:") for e in errors), errors  # every line names the file
    assert not any("Traceback" in e or "secret" in e or "hunter2" in e for e in errors), errors


def test_missing_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nope.yaml"
    assert check_config(path, capsys) == (2, [f"{path}:0: (file): file not found"])


def test_empty_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text("# nothing here yet\n")
    assert check_config(path, capsys) == (2, [f"{path}:1: (top): the file is empty (no sections)"])


def test_directory_instead_of_a_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_config(tmp_path, capsys) == (2, [f"{tmp_path}:0: (file): is a directory, not a file"])


def test_non_utf8_bytes_are_reported_at_their_line(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cameras.yaml"
    # A room name typed in a GBK editor: valid text to its author, not UTF-8.
    path.write_bytes(BASE.replace("    type: holding\n", "    type: holding\n    name: 留置室\n")
                     .encode("utf-8").replace("留置室".encode(), "留置室".encode("gbk")))
    code, errors = check_config(path, capsys)
    assert code == 2
    assert len(errors) == 1 and errors[0].startswith(f"{path}:14: (file): not UTF-8 text"), errors


def test_a_camera_url_error_never_shows_its_credentials(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text(BASE.replace("rtsp://user:secret@", "rtps://user:secret@"))
    code, errors = check_config(path, capsys)
    assert code == 2
    assert errors == [f"{path}:19: cameras[0].detect_url: unknown URL scheme 'rtps' (use rtsp, rtsps, rtmp, "
                      "rtmps, http, https, srt, udp, file, or a video file path)"]


def test_every_problem_of_a_file_is_listed_at_once(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text(BASE.replace("fps: 2", "fps: 0").replace("port: 8080", "port: 70000"))
    code, errors = check_config(path, capsys)
    assert code == 2
    assert [e.split(": ")[0:2] for e in errors] == [[f"{path}:6", "api.port"],
                                                    [f"{path}:20", "cameras[0].fps"]]


# Typing slips: a stray bracket, a tab, an anchor, a tag the safe loader refuses, a line lost or doubled.
SLIPS = ["", "-", ":", "[", "]", "{", "}", "null", "~", "1e999", "-1", "0", "[]", "{}", "'", '"', "&a", "*a",
         "!!binary", "? ", "\t", "x: y", "- z", ".nan", "true", "2026-01-01", "!!python/object:os.system",
         "<<: *a", "---", "|", "#"]
Slip = tuple[int, int, str, str]
slips = st.lists(st.tuples(st.integers(0, BASE.count("\n") - 1), st.integers(0, 80), st.sampled_from(SLIPS),
                           st.sampled_from(["insert", "replace line", "delete line", "double line"])),
                 min_size=1, max_size=4)


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(slips)
def test_any_slip_in_the_file_gives_problems_with_lines_never_a_crash(edits: list[Slip]) -> None:
    lines = BASE.splitlines(keepends=True)
    for row, col, text, how in edits:
        row = min(row, len(lines) - 1)
        if how == "insert":
            lines[row] = lines[row][:col] + text + lines[row][col:]
        elif how == "replace line":
            lines[row] = text + "\n"
        elif how == "delete line" and len(lines) > 1:
            del lines[row]
        elif how == "double line":
            lines.insert(row, lines[row])
    text = "".join(lines)
    try:
        parse_config(text, "cameras.yaml")
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            # One readable line per problem, at a line of the file.
            assert 1 <= problem.line <= text.count("\n") + 1, problem
            assert "\n" not in str(problem) and problem.path and problem.message, problem


# ---- run: a bad config stops before anything is touched -----------------------------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def stored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A data directory with a real store (one account), as an installed box has."""
    data = tmp_path / "data"
    data.mkdir()
    db = data / "custodywatch.db"
    assert main(["user", "add", "desk", "--role", "watch_desk", "--password", "correct horse battery",
                 "--database-url", f"sqlite:///{db}"]) == 0
    capsys.readouterr()
    return data


def _bad_config(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BASE.replace("    room: holding-1", "    room: holding-9"))
    return path


def test_run_with_a_bad_config_exits_2_and_leaves_the_store_alone(
        stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTODYWATCH_DATA", str(stored))
    before = {p.name: _digest(p) for p in stored.iterdir()}
    bad = _bad_config(tmp_path)
    assert main(["run", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:25: cameras[1].room: room 'holding-9' is not defined" in err
    assert "ready" not in err
    assert {p.name: _digest(p) for p in stored.iterdir()} == before


def test_run_as_a_process_with_a_bad_config_exits_2_at_once(stored: Path, tmp_path: Path) -> None:
    bad = _bad_config(tmp_path)
    db = stored / "custodywatch.db"
    before = _digest(db)
    result = subprocess.run([sys.executable, "-m", "custodywatch.cli", "run", "--config", str(bad)],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "CUSTODYWATCH_DATA": str(stored)})
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bad}:25: cameras[1].room: room 'holding-9' is not defined (rooms: holding-1, interrogation-1)",
        f"{bad}:12: rooms[1].id: room 'holding-1' has no camera",
    ]
    assert _digest(db) == before
    assert sorted(p.name for p in stored.iterdir()) == ["custodywatch.db"]
