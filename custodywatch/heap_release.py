"""Handing the heap's free pages back to the system, every minute, in every process of the service.

glibc's malloc gives freed memory back to the system only from the top of a heap. Work that
allocates and frees many buffers of varied sizes leaves free pages between blocks still in use, and
the process's resident memory climbs though nothing is leaked: the recorder cutting an alert clip
and decoding its snapshot (FFmpeg's packets and frames) grew by 14 MiB over 900 clips this
way. `malloc_trim(0)` returns those pages (it walks the heap: 0.4-5 ms here). Measured
in docs/performance.md ("Clip memory and heap release"), by `bench/clip_memory.py`.

`CUSTODYWATCH_HEAP_RELEASE_S` sets the interval (default 60; 0 turns it off). Where the C library
is not glibc there is no such call and nothing is done.
"""
from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Callable

from custodywatch.memory_report import libc_function, rss_anon_kib

ENV = "CUSTODYWATCH_HEAP_RELEASE_S"
DEFAULT_EVERY_S = 60.0

log = logging.getLogger("custodywatch.heap")

_TRIM: Callable[[int], int] | None = libc_function("malloc_trim", [ctypes.c_size_t], ctypes.c_int)


def available() -> bool:
    return _TRIM is not None


def release_free_heap() -> int | None:
    """Return the heap's free pages to the system; the resident anonymous KiB that freed (None
    where there is no malloc_trim)."""
    if _TRIM is None:
        return None
    before = rss_anon_kib()
    _TRIM(0)
    after = rss_anon_kib()
    return 0 if before is None or after is None else max(0, before - after)


class HeapRelease:
    """A daemon thread releasing the free heap every `every_s` seconds."""

    def __init__(self, every_s: float):
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heap-release", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            freed = release_free_heap()
            if freed:
                log.debug("released %d KiB of free heap", freed)


def start_from_env() -> HeapRelease | None:
    value = os.environ.get(ENV, "")
    try:
        every_s = float(value) if value else DEFAULT_EVERY_S
    except ValueError:
        log.warning("%s=%r is not a number of seconds: releasing every %g s", ENV, value, DEFAULT_EVERY_S)
        every_s = DEFAULT_EVERY_S
    if every_s <= 0 or not available():
        return None
    release = HeapRelease(every_s)
    release.start()
    return release
