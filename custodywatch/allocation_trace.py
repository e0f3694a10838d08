"""Which lines of code hold the memory that Python allocations add: an opt-in part of the memory report.

`CUSTODYWATCH_MEMORY_TRACE=main,recorder` (process names as the log writes them, or `all`) starts
Python's tracemalloc in those processes. Each memory report line of theirs then also gives what
Python's allocations hold (`traced_kib`) and the places whose allocations grew most since the
previous line. Each place is the line of the service's own code that made the allocation, and, if
the allocation was made deeper down, the library line that made it. This counts big buffers
(arrays, strings, a list's or a dict's table), which the report's `blocks` figure leaves out. It
does not count what C libraries allocate with malloc themselves.

Costly: it slows every allocation and keeps a traceback for each live block (the main process grew
40 MiB in 40 minutes at the soak's flood rate), so it is only for chasing growth on one box.
"""
from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

ENV = "CUSTODYWATCH_MEMORY_TRACE"
FRAMES = 12
TOP_PLACES = 3
_ROOT = str(Path(__file__).resolve().parents[1])
_NOT_THE_REPORTS_OWN = [
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, str(Path(__file__).with_name("memory_report.py")), all_frames=True),
]


def wanted(process: str, setting: str | None) -> bool:
    names = {name.strip() for name in (setting or "").split(",") if name.strip()}
    return "all" in names or process in names


def _ours(frame: tracemalloc.Frame) -> bool:
    return frame.filename.startswith(_ROOT) and "site-packages" not in frame.filename


def _short(frame: tracemalloc.Frame) -> str:
    name = frame.filename
    if "site-packages/" in name:
        name = name.split("site-packages/", 1)[1]
    elif name.startswith(_ROOT + "/"):
        name = name[len(_ROOT) + 1:]
    else:
        name = re.sub(r"^.*/lib/python3\.\d+/", "", name)  # the standard library's modules
    return f"{name}:{frame.lineno}"


def place(traceback: tracemalloc.Traceback) -> str:
    """Our innermost line in `traceback`, and the line that allocated where that is deeper down."""
    innermost = traceback[-1]  # tracemalloc orders frames from the oldest call to the newest
    ours = next((f for f in reversed(traceback) if _ours(f)), None)
    if ours is None:
        return _short(innermost)
    return _short(ours) if ours == innermost else f"{_short(ours)} via {_short(innermost)}"


class AllocationTrace:
    def __init__(self) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(FRAMES)
        self._last: tracemalloc.Snapshot | None = None

    def line(self) -> str:
        snapshot = tracemalloc.take_snapshot().filter_traces(_NOT_THE_REPORTS_OWN)
        grown = []
        if self._last is not None:
            diffs = [d for d in snapshot.compare_to(self._last, "traceback") if d.size_diff > 0]
            for diff in diffs[:TOP_PLACES]:  # compare_to sorts by the size of the difference
                kib = diff.size_diff / 1024
                grown.append(f"{place(diff.traceback)} {kib:+.0f} KiB ({diff.count_diff:+d})")
        self._last = snapshot
        traced_kib = tracemalloc.get_traced_memory()[0] // 1024
        return f"traced_kib={traced_kib} traced_grown: {', '.join(grown) or '-'}"
