"""Malformed custody files given to `analyze --custody`: exit 2 before any analysis, naming the file,
the line of the record and its key; the files themselves are left as they were."""
from __future__ import annotations

from pathlib import Path

import pytest
from holding_camera_config import HOLDING_CONFIG, write_holding_config

from custodywatch.cli import main
from custodywatch.config import parse_config
from custodywatch.custody_file import load_custody
from custodywatch.paths import shared_dir
from custodywatch.rules.custody import CustodyRecord

VIDEO = shared_dir() / "media" / "real" / "intel_one-by-one-person-detection.mp4"
GOOD = "- {person: p1, room: holding-1, legal_basis: summons, check_in: -60}\n"

# name -> (file name, content, what stderr must say after "FILE:")
CASES: dict[str, tuple[str, bytes, str]] = {
    "check-in not a number": ("c.yaml", b"- {person: p1, room: holding-1, legal_basis: summons, "
                                        b"check_in: .nan}\n", "1: check_in: nan is not a finite number"),
    "release at infinity": ("c.yaml", (GOOD + "- person: p2\n  room: holding-1\n  legal_basis: summons\n"
                                       "  check_in: 0\n  release: .inf\n").encode(),
                            "6: release: inf is not a finite number"),
    "CSV check-in 'nan'": ("c.csv", b"person,room,legal_basis,check_in\np1,holding-1,summons,nan\n",
                           "2: check_in: 'nan' is not a finite number"),
    "check-in decades away": ("c.yaml", b"- {person: p1, room: holding-1, legal_basis: summons, "
                                        b"check_in: 1.0e+9}\n",
                              "1: check_in: 1000000000.0 is more than a year from the video's start"),
    "the same key twice": ("c.yaml", b"- person: p1\n  room: holding-1\n  legal_basis: summons\n"
                                     b"  check_in: 0\n  check_in: 500\n",
                           "5: check_in: duplicate key (also line 4)"),
    "person given as a mapping": ("c.yaml", b"- {person: {name: p1}, room: holding-1, legal_basis: summons, "
                                            b"check_in: 0}\n",
                                  "1: person: must be a single value, not a list or mapping"),
    "room given as a list": ("c.yaml", (GOOD + "- person: p2\n  room: [holding-1]\n  legal_basis: summons\n"
                                               "  check_in: 0\n").encode(),
                             "3: room: must be a single value, not a list or mapping"),
    "records keyed by person": ("c.yaml", b"p1: {room: holding-1, legal_basis: summons, check_in: 0}\n",
                                "1: (top): expected a list of custody records"),
    "a record written as one line of text": ("c.yaml", (GOOD + "- p2 holding-1 summons 0\n").encode(),
                                             "2: (record): a custody record must be a mapping of keys"),
    "room not in the config": ("c.yaml", (GOOD + "- {person: p2, room: holding-9, legal_basis: summons, "
                                                 "check_in: 0}\n").encode(),
                               "2: room: room 'holding-9' is not in the config (rooms: holding-1)"),
    "date-time without --start-time": ("c.yaml", b"- {person: p1, room: holding-1, legal_basis: summons, "
                                                 b"check_in: 2026-11-26T08:00:00}\n",
                                       "1: check_in: '2026-11-26T08:00:00' is a date-time: "
                                       "give --start-time"),
    "YAML syntax error": ("c.yaml", (GOOD + "- {person: p2, room: holding-1\n").encode(),
                          "3: (yaml): not valid YAML"),
    "CSV without a check_in column": ("c.csv", b"person,room,legal_basis\np1,holding-1,summons\n",
                                      "2: check_in: required key is missing"),
    "CSV row with a value too many": ("c.csv", b"person,room,legal_basis,check_in\np1,holding-1,summons,0\n"
                                               b"p2,holding-1,summons,0,30\n",
                                      "3: (row): more values than columns"),
    "CSV release before check-in": ("c.csv", b"person,room,legal_basis,check_in,release\n"
                                             b"p1,holding-1,summons,100,50\n",
                                    "2: release: release is before check_in"),
    "not UTF-8": ("c.csv", "person,room,legal_basis,check_in\n张三,holding-1,summons,0\n".encode("gbk"),
                  "2: (file): not UTF-8 text"),
}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_holding_config(tmp_path)


def analyze(config: Path, custody: Path, *extra: str) -> list[str]:
    return ["analyze", str(VIDEO), "--config", str(config), "--camera", "cam-h1", "--custody", str(custody),
            *extra]


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_custody_file_exits_2_naming_file_line_and_key(
        name: str, tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    filename, content, says = CASES[name]
    path = tmp_path / filename
    path.write_bytes(content)
    assert main(analyze(config, path)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no alert lines from an analysis that must not have run
    errors = captured.err.splitlines()
    assert any(e.startswith(f"{path}:{says}") for e in errors), (says, errors)
    assert all(e.startswith(f"{path}:") for e in errors), errors
    assert path.read_bytes() == content  # read, never rewritten


def test_missing_custody_file_is_named(tmp_path: Path, config: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "custody.yaml"
    assert main(analyze(config, path)) == 2
    assert capsys.readouterr().err.splitlines() == [f"{path}:0: (file): file not found"]


def test_bad_start_time_is_named_before_the_custody_file_is_read(
        tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD)
    assert main(analyze(config, path, "--start-time", "yesterday at nine")) == 2
    assert capsys.readouterr().err.strip() == ("custodywatch: --start-time: 'yesterday at nine' is not an "
                                               "ISO-8601 date-time")


def test_a_spreadsheet_export_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a BOM; the header must still read as `person`."""
    path = tmp_path / "c.csv"
    path.write_bytes("person,room,legal_basis,extended,check_in\r\np1,holding-1,summons,no,-60\r\n"
                     .encode("utf-8-sig"))
    assert load_custody(path, parse_config(HOLDING_CONFIG)) == [
        CustodyRecord("p1", "holding-1", "summons", False, -60.0, None)]
