"""The one owner of the service's child processes: ordered start, watchdog, ordered stop."""
from __future__ import annotations

import logging
import threading
import time

from custodywatch.pipeline.process import ChildProcess, Component

log = logging.getLogger("custodywatch.supervisor")

# All children together get this long to exit cleanly after being asked (the service must be gone
# within 10 s of SIGTERM, uvicorn's own shutdown included).
STOP_TIMEOUT_S = 5.0


class Supervisor:
    """Starts components in the given order (consumers first), restarts a dead one with back-off
    within a budget, and stops them in reverse order so producers stop before their consumers."""

    def __init__(self, components: list[Component], restart_budget: int = 5, check_s: float = 1.0):
        self.children = [ChildProcess(c) for c in components]
        self.restart_budget = restart_budget
        self.check_s = check_s
        self.down: set[str] = set()
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None

    def start(self) -> None:
        for child in self.children:
            child.start()
            log.info("started %s (pid %s)", child.name, child.process.pid)
        self._watchdog = threading.Thread(target=self._watch, name="watchdog", daemon=True)
        self._watchdog.start()

    def alive(self) -> dict[str, bool]:
        return {c.name: c.alive() for c in self.children}

    def _watch(self) -> None:
        next_try: dict[str, float] = {}
        while not self._stopping.wait(self.check_s):
            for child in self.children:
                if child.alive() or child.name in self.down or self._stopping.is_set():
                    continue
                now = time.monotonic()
                if child.name not in next_try:
                    next_try[child.name] = now + min(0.5 * 2 ** child.restarts, 10.0)
                    log.error("%s exited (code %s)", child.name,
                              child.process.exitcode if child.process else None)
                if now < next_try[child.name]:
                    continue
                del next_try[child.name]
                if child.restarts >= self.restart_budget:
                    log.error("%s is down: restart budget of %d used", child.name, self.restart_budget)
                    self.down.add(child.name)
                    continue
                child.restarts += 1
                child.stop(timeout=0.1)
                child.start()
                log.warning("restarted %s (%d/%d)", child.name, child.restarts, self.restart_budget)

    def stop(self) -> None:
        self._stopping.set()
        if self._watchdog is not None:
            self._watchdog.join(2 * self.check_s)
        # Every child is asked at once, producers first, so their shutdowns overlap (a reader may
        # wait out a stalled read); then each is joined, and killed if it has not exited in time.
        for child in reversed(self.children):
            child.request_stop()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for child in reversed(self.children):
            child.stop(timeout=max(0.1, deadline - time.monotonic()))
            log.info("stopped %s", child.name)
