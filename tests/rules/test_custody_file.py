"""Custody files for `analyze --custody`: YAML and CSV, relative seconds or ISO times, exact errors."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from holding_room import holding_config

from custodywatch.custody_file import CustodyFileError, load_custody
from custodywatch.rules.custody import CustodyRecord

CFG = holding_config("""
site: {timezone: Asia/Shanghai}
rooms:
  - {id: hold-1, type: holding}
""")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yaml_with_relative_seconds(tmp_path):
    path = write(tmp_path, "c.yaml", """
- {person: p1, room: hold-1, legal_basis: summons, check_in: -3600}
- person: p2
  room: hold-1
  legal_basis: questioning
  extended: true
  check_in: 10.5
  release: 7200
""")
    assert load_custody(path, CFG) == [
        CustodyRecord("p1", "hold-1", "summons", False, -3600.0, None),
        CustodyRecord("p2", "hold-1", "questioning", True, 10.5, 7200.0),
    ]


def test_csv_with_iso_times_and_a_start_time(tmp_path):
    path = write(tmp_path, "c.csv", "person,room,legal_basis,extended,check_in,release\n"
                                    "p1,hold-1,summons,no,2026-11-26T08:00:00,\n"
                                    "p2,hold-1,questioning,yes,2026-11-26T01:30:00+00:00,2026-11-26T10:00:00\n")
    start = datetime.fromisoformat("2026-11-26T09:00:00")  # site time (Asia/Shanghai, UTC+8)
    assert load_custody(path, CFG, start) == [
        CustodyRecord("p1", "hold-1", "summons", False, -3600.0, None),
        CustodyRecord("p2", "hold-1", "questioning", True, 30 * 60.0, 3600.0),
    ]


def test_records_key_in_yaml(tmp_path):
    path = write(tmp_path, "c.yml",
                 "records:\n  - {person: p1, room: hold-1, legal_basis: summons, check_in: 0}\n")
    assert [r.person for r in load_custody(path, CFG)] == ["p1"]


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("c.yaml", "- {person: p1, room: hold-1, legal_basis: summons, check_in: 0}\n"
                   "- {person: p2, room: hold-9, legal_basis: summons, check_in: 0}\n",
         "c.yaml:2: room: room 'hold-9' is not in the config"),
        ("c.yaml", "- person: p1\n  room: hold-1\n  legal_basis: arrest\n  check_in: 0\n",
         "c.yaml:3: legal_basis: unknown legal basis 'arrest'"),
        ("c.yaml", "- person: p1\n  room: hold-1\n  legal_basis: summons\n  chek_in: 0\n",
         "c.yaml:4: chek_in: unknown key"),
        ("c.yaml", "- {person: p1, room: hold-1, legal_basis: summons}\n",
         "c.yaml:1: check_in: required key is missing"),
        ("c.yaml", "- person: p1\n  room: hold-1\n  legal_basis: summons\n  check_in: 2026-11-26T08:00:00\n",
         "c.yaml:4: check_in: '2026-11-26T08:00:00' is a date-time: give --start-time"),
        ("c.yaml", "- person: p1\n  room: hold-1\n  legal_basis: summons\n  check_in: soon\n",
         "c.yaml:4: check_in: 'soon' is neither seconds nor an ISO-8601 date-time"),
        ("c.yaml", "- person: p1\n  room: hold-1\n  legal_basis: summons\n  check_in: 100\n  release: 50\n",
         "c.yaml:5: release: release is before check_in"),
        ("c.yaml", "[unclosed\n", "c.yaml:2: (yaml): not valid YAML"),
        ("c.csv", "person,room,legal_basis,check_in\np1,hold-1,summons,0\np1,hold-1,summons,5\n",
         "c.csv:3: person: 'p1' has two records (also line 2)"),
        ("c.csv", "person,room,basis,check_in\np1,hold-1,summons,0\n", "c.csv:1: basis: unknown column"),
        ("c.csv", "person,room,legal_basis,extended,check_in\np1,hold-1,summons,maybe,0\n",
         "c.csv:2: extended: 'maybe' is not true or false"),
    ],
)
def test_bad_files_name_file_line_and_key(tmp_path, name, text, expected):
    path = write(tmp_path, name, text)
    with pytest.raises(CustodyFileError) as err:
        load_custody(path, CFG)
    assert expected in str(err.value).replace(str(tmp_path) + "/", "")


def test_missing_file(tmp_path):
    with pytest.raises(CustodyFileError, match="nope.yaml:0: \\(file\\): file not found"):
        load_custody(tmp_path / "nope.yaml", CFG)
