"""Run a few writers at the same instant, each in its own thread, to race them against one database."""
from __future__ import annotations

import threading
from collections.abc import Callable


def run_at_once(*writers: Callable[[], None]) -> list[BaseException]:
    """Start every writer behind one barrier and wait for all; returns what they raised."""
    start = threading.Barrier(len(writers), timeout=10)
    errors: list[BaseException] = []

    def run(writer: Callable[[], None]) -> None:
        try:
            start.wait()
            writer()
        except BaseException as exc:  # a thread's exception is lost unless the test's thread sees it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors
