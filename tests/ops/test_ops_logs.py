"""Structured logs: every process of the service writes JSON lines into one file, rotated without
losing or splitting a line, however many processes write at once."""
from __future__ import annotations

import json
import logging
import multiprocessing as mp
import subprocess
import sys
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from custodywatch.logs import LogSettings, configure_logging
from custodywatch.pipeline.process import ChildProcess, Component

LINES_PER_WRITER = 1500


def _write_lines(path: str, writer: int) -> None:
    configure_logging(f"writer-{writer}", settings=LogSettings("json", Path(path), max_bytes=40_000,
                                                                backups=200))
    log = logging.getLogger("test.writer")
    for i in range(LINES_PER_WRITER):
        log.info("line %d of writer %d", i, writer, extra={"writer": writer, "seq": i})


def log_lines(path: Path) -> list[dict[str, object]]:
    lines = []
    for f in sorted(path.parent.glob(path.name + "*")):
        if f.suffix == ".lock":
            continue
        lines += [json.loads(line) for line in f.read_text().splitlines()]
    return lines


def test_concurrent_processes_rotate_one_file_without_losing_a_line(tmp_path: Path) -> None:
    path = tmp_path / "custodywatch.log"
    ctx = mp.get_context("spawn")
    writers = [ctx.Process(target=_write_lines, args=(str(path), w)) for w in range(3)]
    for p in writers:
        p.start()
    for p in writers:
        p.join(60)
        assert p.exitcode == 0
    files = [f for f in tmp_path.glob("custodywatch.log*") if f.suffix != ".lock"]
    assert len(files) > 5, "the test must make the file rotate several times"
    assert all(f.stat().st_size <= 40_000 for f in files)
    lines = log_lines(path)  # every line parses: none was split or interleaved
    seen = {(line["writer"], line["seq"]) for line in lines}
    assert len(lines) == len(seen) == 3 * LINES_PER_WRITER
    assert {line["process"] for line in lines} == {"writer-0", "writer-1", "writer-2"}
    assert lines[0]["level"] == "info" and str(lines[0]["message"]).startswith("line ")


class _FailingComponent(Component):
    kind = "test"

    def __init__(self) -> None:
        self.name = "failing-part"

    def run(self, stop: Event) -> None:
        logging.getLogger("test.part").warning("about to fail")
        raise RuntimeError("boom")


def test_a_supervised_child_logs_json_with_its_name_and_traceback(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "service.log"
    # What `custodywatch --log-format json --log-file F run` leaves for the children it spawns.
    monkeypatch.setenv("CUSTODYWATCH_LOG_FORMAT", "json")
    monkeypatch.setenv("CUSTODYWATCH_LOG_FILE", str(path))
    child = ChildProcess(_FailingComponent())
    child.start()
    assert child.process is not None
    child.process.join(30)
    lines = log_lines(path)
    assert [line["message"] for line in lines if line["process"] == "failing-part"][:2] == [
        "about to fail", "crashed"]
    crashed = next(line for line in lines if line["message"] == "crashed")
    assert crashed["level"] == "error" and "RuntimeError: boom" in str(crashed["exception"])


def test_the_cli_takes_log_flags_and_rejects_bad_settings(tmp_path: Path) -> None:
    log = tmp_path / "cli.log"
    run = subprocess.run([sys.executable, "-m", "custodywatch.cli", "--log-format", "json", "--log-file",
                          str(log), "-v", "check-config", str(tmp_path / "missing.yaml")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "missing.yaml" in run.stderr
    assert log.exists()  # opened for the run; check-config itself has nothing to log
    run = subprocess.run([sys.executable, "-m", "custodywatch.cli", "check-config", "x.yaml"],
                         capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "CUSTODYWATCH_LOG_FORMAT": "xml"})
    assert run.returncode == 2 and "CUSTODYWATCH_LOG_FORMAT: 'xml'" in run.stderr
