"""An opt-in log line about what a process's memory holds, for finding growth in a long run.

`CUSTODYWATCH_MEMORY_REPORT_S=600` makes every process of the service log, every 600 s: its resident
anonymous memory and where it lies (malloc's main heap, its threads' arenas, thread stacks, ...),
Python's allocated memory blocks, the number of objects the garbage collector tracks, and the types
whose count grew most since the previous line. Anonymous memory growing while
blocks and objects stay flat points below Python, and two more figures say where: what C's malloc
holds in use and free (glibc's mallinfo2: in use growing is a C library holding more; free counts
free chunks whether or not their pages were handed back by the heap release, so it can grow while
the process's memory does not: fragmentation costs memory only where anonymous memory grows with
it), and what SQLite holds (its page caches and statements). Off by default: counting the objects
holds the interpreter for tens of milliseconds.
"""
from __future__ import annotations

import collections
import ctypes
import ctypes.util
import gc
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from custodywatch import allocation_trace
from custodywatch.allocation_trace import AllocationTrace

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


_ARENA_ALIGN = 64 * 1024 * 1024  # glibc maps each thread arena's heap at this alignment (64-bit)
MAPPING_KINDS = ("heap", "arenas", "stacks", "libraries", "other")


def _mapping_kind(start: int, perms: str, name: str, guarded: bool) -> str:
    if name == "[heap]":
        return "heap"
    if name.startswith("[stack"):
        return "stacks"
    if name.startswith("/"):
        return "libraries"  # pages of a library's data its process wrote to
    if not name and perms.startswith("rw") and start % _ARENA_ALIGN == 0:
        return "arenas"
    if not name and guarded:
        return "stacks"  # a thread's stack sits right above its guard page
    return "other"


def anon_by_mapping_kib(smaps: Path = Path("/proc/self/smaps")) -> dict[str, int] | None:
    """Resident anonymous memory by where it lies, in KiB: malloc's main heap (`heap`), the heaps of
    the threads' malloc arenas (`arenas`), thread stacks (`stacks`), private pages of mapped files
    (`libraries`), and the rest (`other`: Python's own 256 KiB arenas for small objects, blocks
    malloc maps one by one, other libraries' mappings)."""
    kib = dict.fromkeys(MAPPING_KINDS, 0)
    kind = "other"
    previous_end, previous_guard = -1, False
    try:
        lines = smaps.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        head = line.split(maxsplit=5)
        if not head:
            continue
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            first, last = head[0].split("-")
            start, end = int(first, 16), int(last, 16)
            perms, name = head[1], head[5].strip() if len(head) > 5 else ""
            guarded = previous_guard and previous_end == start
            kind = _mapping_kind(start, perms, name, guarded)
            previous_end, previous_guard = end, perms.startswith("---") and not name
        elif head[0] == "Anonymous:":
            kib[kind] += int(head[1])
    return kib


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
        "keepcost")]


def _load_libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"))
    except OSError:
        return None


LIBC = _load_libc()


def libc_function(name: str, argtypes: list[Any], restype: Any) -> Callable[..., Any] | None:
    """glibc's function `name`, typed; None where there is no C library or it lacks the function
    (not glibc, or too old: mallinfo2 came in 2.33)."""
    try:
        fn = getattr(LIBC, name)
    except AttributeError:
        return None
    fn.argtypes, fn.restype = argtypes, restype
    return fn  # type: ignore[no-any-return]


def _libc_mallinfo2() -> Callable[[], _MallInfo2] | None:
    return libc_function("mallinfo2", [], _MallInfo2)


_MALLINFO2 = _libc_mallinfo2()


def malloc_kib() -> tuple[int, int] | None:
    """C malloc's memory in use (heap blocks and mmapped blocks) and free in its heaps, in KiB (free
    chunks whose pages `malloc_trim` handed back still count)."""
    if _MALLINFO2 is None:
        return None
    info = _MALLINFO2()
    return (info.uordblks + info.hblkhd) // 1024, info.fordblks // 1024


_SQLITE_MEMORY_USED: list[Callable[[], int]] = []  # found once: each CDLL makes new ctypes types


def sqlite_kib() -> int | None:
    """What the SQLite library the sqlite3 module uses holds, in KiB; None where that module is not
    loaded or carries its own SQLite inside (then a separately loaded library would count nothing)."""
    if not _SQLITE_MEMORY_USED:
        if "sqlite3" not in sys.modules:
            return None
        try:
            loaded = "libsqlite3" in Path("/proc/self/maps").read_text()
            name = ctypes.util.find_library("sqlite3")
            if not loaded or name is None:
                return None
            memory_used = ctypes.CDLL(name).sqlite3_memory_used
        except (OSError, AttributeError):
            return None
        memory_used.restype = ctypes.c_int64
        memory_used.argtypes = []
        _SQLITE_MEMORY_USED.append(memory_used)
    return int(_SQLITE_MEMORY_USED[0]()) // 1024


def _held_by(new: list[object], ours: list[list[object]], limit: int = 3) -> str:
    """The types of what refers to a few of `new` (one scan of the heap each), but for our own lists."""
    skip = {id(new), *(id(lst) for lst in ours)}
    holders: collections.Counter[str] = collections.Counter()
    for i in range(max(0, len(new) - limit), len(new)):
        for ref in gc.get_referrers(new[i]):
            if id(ref) not in skip:
                holders[type(ref).__name__] += 1
    return ", ".join(f"{name} {n}" for name, n in holders.most_common(3)) or "nothing tracked"


class MemoryReport:
    def __init__(self, every_s: float, trace: AllocationTrace | None = None):
        self._every_s = every_s
        self._trace = trace
        self._stop = threading.Event()
        self._last: collections.Counter[str] | None = None
        # The ids of the type that grew most, to name what holds its new objects next time.
        self._top: tuple[str, set[int]] | None = None
        self._thread = threading.Thread(target=self._run, name="memory-report", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def line(self) -> str:
        traced = "" if self._trace is None else f" | {self._trace.line()}"  # before the report's own lists
        objects = gc.get_objects()
        counts = collections.Counter(type(o).__name__ for o in objects)
        growth = [] if self._last is None else (counts - self._last).most_common(TOP_TYPES)
        grown = [f"{name} {n:+d}" for name, n in growth]
        if growth:
            top = growth[0][0]
            of_top = [o for o in objects if type(o).__name__ == top]
            if self._top is not None and self._top[0] == top:
                seen = self._top[1]
                new = [o for o in of_top if id(o) not in seen]
                grown[0] += f" (new ones held by: {_held_by(new, [objects, of_top])})"
            self._top = (top, {id(o) for o in of_top})
        self._last = counts
        malloc = malloc_kib()
        used, free = ("-", "-") if malloc is None else malloc
        sqlite = sqlite_kib()
        by_mapping = anon_by_mapping_kib()
        where = "-" if by_mapping is None else ",".join(f"{kind}:{n}" for kind, n in by_mapping.items())
        return (f"rss_anon_kib={rss_anon_kib()} anon_by_mapping_kib={where} malloc_used_kib={used} "
                f"malloc_free_kib={free} "
                f"sqlite_kib={'-' if sqlite is None else sqlite} blocks={sys.getallocatedblocks()} "
                f"objects={sum(counts.values())} grown: {', '.join(grown) or '-'}{traced}")

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            log.info("memory: %s", self.line())


def start_from_env(process: str) -> MemoryReport | None:
    """The report `ENV` asks for in the process the log calls `process`, started; with Python's
    allocations traced where `allocation_trace.ENV` names the process."""
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
    traced = allocation_trace.wanted(process, os.environ.get(allocation_trace.ENV))
    report = MemoryReport(every_s, AllocationTrace() if traced else None)
    report.start()
    return report
