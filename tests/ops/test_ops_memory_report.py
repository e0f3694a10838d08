"""The opt-in memory report names what grew between two of its lines, so that the engineer chasing a
box whose memory creeps up can tell Python objects from growth below Python."""
from __future__ import annotations

import ctypes
import re
import sqlite3

import pytest

from custodywatch import memory_report
from custodywatch.memory_report import MemoryReport


class HeldByTheTest:
    pass


def test_a_line_names_the_type_that_grew_since_the_last() -> None:
    report = MemoryReport(every_s=3600)
    first = report.line()
    held = [HeldByTheTest() for _ in range(5000)]
    second = report.line()
    assert re.match(r"rss_anon_kib=\d+ malloc_used_kib=\d+ malloc_free_kib=\d+ sqlite_kib=\d+ blocks=\d+ "
                    r"objects=\d+ grown: -$", first), first
    assert "HeldByTheTest +5000" in second, second
    blocks = [int(re.search(r"blocks=(\d+)", line).group(1)) for line in (first, second)]  # type: ignore[union-attr]
    assert blocks[1] - blocks[0] >= 5000
    assert held


@pytest.mark.parametrize(("value", "started"), [("", False), ("0", False), ("ten", False), ("600", True)])
def test_it_runs_only_when_asked_for(value: str, started: bool, monkeypatch: pytest.MonkeyPatch,
                                     caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(memory_report.ENV, value)
    report = memory_report.start_from_env()
    assert (report is not None) == started
    if report is not None:
        report.stop()
    if value == "ten":
        assert f"{memory_report.ENV}='ten' is not a number of seconds" in caplog.text


def figure(line: str, name: str) -> int:
    return int(re.search(rf"\b{name}=(\d+)", line).group(1))  # type: ignore[union-attr]


def test_a_line_tells_memory_held_by_c_code_and_by_sqlite() -> None:
    """Growth below Python, told apart: a buffer C's malloc hands out, and SQLite's page cache."""
    report = MemoryReport(every_s=3600)
    first = report.line()
    buffer = ctypes.create_string_buffer(32 * 1024 * 1024)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x BLOB)")
    db.executemany("INSERT INTO t VALUES (?)", [(b"x" * 1000,) for _ in range(8000)])
    second = report.line()
    assert figure(second, "malloc_used_kib") - figure(first, "malloc_used_kib") >= 32 * 1024
    assert figure(second, "sqlite_kib") - figure(first, "sqlite_kib") >= 4 * 1024
    assert len(buffer) and db


class Leaked:
    pass


def test_the_type_that_keeps_growing_is_named_with_what_holds_it() -> None:
    report = MemoryReport(every_s=3600)
    registry: dict[str, list[Leaked]] = {"kept": []}
    report.line()
    registry["kept"].extend(Leaked() for _ in range(3000))
    report.line()
    registry["kept"].extend(Leaked() for _ in range(3000))
    third = report.line()
    assert re.search(r"grown: Leaked \+3000 \(new ones held by: list 3\)", third), third


def test_repeated_lines_leave_no_objects_of_their_own_behind() -> None:
    report = MemoryReport(every_s=3600)
    for _ in range(3):
        report.line()
    lines = [report.line() for _ in range(3)]
    assert all("CDLL" not in line and "_FuncPtr" not in line for line in lines), lines
