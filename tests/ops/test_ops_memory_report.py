"""The opt-in memory report names what grew between two of its lines, so that the engineer chasing a
box whose memory creeps up can tell Python objects from growth below Python."""
from __future__ import annotations

import re

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
    assert re.match(r"rss_anon_kib=\d+ blocks=\d+ objects=\d+ grown: -$", first), first
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
