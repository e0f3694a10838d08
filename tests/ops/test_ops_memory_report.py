"""The opt-in memory report names what grew between two of its lines, so that the engineer chasing a
box whose memory creeps up can tell Python objects from growth below Python."""
from __future__ import annotations

import ctypes
import gc
import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Iterator

import pytest

from custodywatch import allocation_trace, heap_release, memory_report
from custodywatch.allocation_trace import AllocationTrace
from custodywatch.memory_report import MemoryReport


class HeldByTheTest:
    pass


def test_a_line_names_the_type_that_grew_since_the_last() -> None:
    report = MemoryReport(every_s=3600)
    # Garbage an earlier test left behind, collected between the two lines, would shrink the blocks
    # figure by more than the test adds (CI saw -66,000); collected first and held off, it cannot.
    gc.collect()
    gc.disable()
    try:
        first = report.line()
        held = [HeldByTheTest() for _ in range(5000)]
        second = report.line()
    finally:
        gc.enable()
    assert re.match(r"rss_anon_kib=\d+ anon_by_mapping_kib=[a-z:\d,]+ malloc_used_kib=\d+ "
                    r"malloc_free_kib=\d+ sqlite_kib=\d+ blocks=\d+ objects=\d+ grown: -$", first), first
    assert "HeldByTheTest +5000" in second, second
    blocks = [int(re.search(r"blocks=(\d+)", line).group(1)) for line in (first, second)]  # type: ignore[union-attr]
    assert blocks[1] - blocks[0] >= 5000
    assert held


@pytest.mark.parametrize(("value", "started"), [("", False), ("0", False), ("ten", False), ("600", True)])
def test_it_runs_only_when_asked_for(value: str, started: bool, monkeypatch: pytest.MonkeyPatch,
                                     caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(memory_report.ENV, value)
    report = memory_report.start_from_env("main")
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


# Where a process's memory lies, in a fresh process with the service's two malloc arenas: blocks a
# thread keeps (its arena), blocks the main thread keeps (the main heap), and one big buffer (which
# malloc maps by itself).
HOLD_IN_EACH_PLACE = textwrap.dedent("""
    import threading
    from custodywatch.memory_report import anon_by_mapping_kib
    before = anon_by_mapping_kib()
    by_thread = []
    worker = threading.Thread(target=lambda: by_thread.extend(bytearray(4000) for _ in range(8000)))
    worker.start()
    worker.join()
    by_main = [bytearray(4000) for _ in range(6000)]
    big = bytearray(48 * 1024 * 1024)
    after = anon_by_mapping_kib()
    print(" ".join(f"{kind}={after[kind] - before[kind]}" for kind in after))
""")


@pytest.mark.skipif(not heap_release.available(), reason="needs glibc's malloc")
def test_a_line_says_where_the_memory_lies_heap_threads_arenas_or_elsewhere() -> None:
    line = MemoryReport(every_s=3600).line()
    kinds = r"heap:\d+,arenas:\d+,stacks:\d+,libraries:\d+,other:\d+"
    assert re.search(rf" anon_by_mapping_kib={kinds} ", line), line
    grown = subprocess.run([sys.executable, "-c", HOLD_IN_EACH_PLACE], capture_output=True, text=True,
                           check=True, env={**os.environ, "MALLOC_ARENA_MAX": "2"}, timeout=60).stdout
    kib = {kind: int(n) for kind, n in re.findall(r"(\w+)=(-?\d+)", grown)}
    assert 28_000 <= kib["arenas"] <= 40_000, grown  # 8000 x 4000 bytes = 31,250 KiB
    assert 20_000 <= kib["heap"] <= 30_000, grown  # 6000 x 4000 bytes = 23,437 KiB
    assert 48 * 1024 <= kib["other"] <= 56 * 1024, grown


@pytest.fixture
def tracing() -> Iterator[None]:
    yield
    tracemalloc.stop()  # tracing slows every allocation of the tests after this one


def keep_buffers(kept: list[object]) -> None:
    kept.extend(bytearray(16 * 1024) for _ in range(200))  # too big for `blocks` to count


def keep_decoded(kept: list[object]) -> None:
    kept.append(json.loads("[" + ",".join(['"' + "x" * 1000 + '"'] * 2000) + "]"))


def test_a_traced_line_names_the_code_whose_allocations_grew(tracing: None) -> None:
    report = MemoryReport(every_s=3600, trace=AllocationTrace())
    report.line()
    kept: list[object] = []
    keep_buffers(kept)
    second = report.line()
    assert re.search(r" \| traced_kib=\d+ traced_grown: tests/ops/test_ops_memory_report.py:\d+ \+3\d{3} KiB "
                     r"\(\+\d+\)", second), second
    keep_decoded(kept)
    third = report.line()
    # Allocated inside a library: the line of ours that called it comes first.
    assert re.search(r"traced_grown: tests/ops/test_ops_memory_report.py:\d+ via json/decoder.py:\d+ "
                     r"\+2\d{3} KiB", third), third


@pytest.mark.parametrize(("setting", "process", "traced"), [
    (None, "main", False), ("", "main", False), ("main,recorder", "recorder", True),
    ("main, recorder", "reader-0", False), ("all", "detector-1", True)])
def test_only_the_processes_named_are_traced(setting: str | None, process: str, traced: bool,
                                             monkeypatch: pytest.MonkeyPatch, tracing: None) -> None:
    monkeypatch.setenv(memory_report.ENV, "600")
    if setting is None:
        monkeypatch.delenv(allocation_trace.ENV, raising=False)
    else:
        monkeypatch.setenv(allocation_trace.ENV, setting)
    report = memory_report.start_from_env(process)
    assert report is not None
    report.stop()
    assert ("traced_kib=" in report.line()) == traced
    assert tracemalloc.is_tracing() == traced
