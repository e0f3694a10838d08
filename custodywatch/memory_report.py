"""An opt-in log line about what a process's memory holds, for finding growth in a long run.

`CUSTODYWATCH_MEMORY_REPORT_S=600` makes every process of the service log, every 600 s: its resident
anonymous memory, Python's allocated memory blocks, the number of objects the garbage collector
tracks, and the types whose count grew most since the previous line. Anonymous memory growing while
blocks and objects stay flat points below Python (a C library, or the allocator's fragmentation);
blocks growing points at Python objects, and the types name them. Off by default: counting the
objects holds the interpreter for tens of milliseconds.
"""
from __future__ import annotations

import collections
import gc
import logging
import os
import sys
import threading
from pathlib import Path

ENV = "CUSTODYWATCH_MEMORY_REPORT_S"
TOP_TYPES = 8

log = logging.getLogger("custodywatch.memory")


def rss_anon_kib() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


class MemoryReport:
    def __init__(self, every_s: float):
        self._every_s = every_s
        self._stop = threading.Event()
        self._last: collections.Counter[str] | None = None
        self._thread = threading.Thread(target=self._run, name="memory-report", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def line(self) -> str:
        counts = collections.Counter(type(o).__name__ for o in gc.get_objects())
        grown = [] if self._last is None else [
            f"{name} {n:+d}" for name, n in (counts - self._last).most_common(TOP_TYPES)]
        self._last = counts
        return (f"rss_anon_kib={rss_anon_kib()} blocks={sys.getallocatedblocks()} "
                f"objects={sum(counts.values())} grown: {', '.join(grown) or '-'}")

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            log.info("memory: %s", self.line())


def start_from_env() -> MemoryReport | None:
    value = os.environ.get(ENV)
    if not value:
        return None
    try:
        every_s = float(value)
    except ValueError:
        log.warning("%s=%r is not a number of seconds: no memory report", ENV, value)
        return None
    if every_s <= 0:
        return None
    report = MemoryReport(every_s)
    report.start()
    return report
