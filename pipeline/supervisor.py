"""The one owner of the service's child processes: ordered start, watchdog, ordered stop.

The watchdog restarts a child that died, and kills and restarts one that hangs (its heartbeat
stamp older than its kind's liveness timeout: a stopped or deadlocked process looks alive to the
OS). Restarts follow a back-off and a budget counted over a sliding window, so rare faults over
months never use it up while a crash loop is given up on quickly: the component is then marked
down (the service reports it; /healthz answers 503) and the rest keeps running.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from custodywatch.pipeline.process import ChildProcess, Component

log = logging.getLogger("custodywatch.supervisor")

# All children together get this long to exit cleanly after being asked (the service must be gone
# within 10 s of SIGTERM, uvicorn's own shutdown included).
STOP_TIMEOUT_S = 5.0
STOP_POLL_S = 0.05


@dataclass(frozen=True)
class RestartPolicy:
    """How the watchdog treats a failed child."""

    # At most `budget` restarts of one component within any `window_s`; one more failure and the
    # component is down until the service restarts.
    budget: int = 5
    window_s: float = 600.0
    # The wait before a restart doubles with each restart still inside the window.
    backoff_start_s: float = 0.5
    backoff_max_s: float = 10.0
    # A child that has not sent its first heartbeat this long after its start is hung (model
    # loading, store migration and segment recovery happen before the main loop).
    start_grace_s: float = 60.0
    # Per component kind: a child silent for longer is hung. Kinds not named are watched for death only.
    liveness_s: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ProcessState:
    """One component as the health report shows it."""

    name: str
    alive: bool  # running and its heartbeat is fresh
    down: bool  # given up on: its restart budget is used
    restarts: int  # since the service started


class _Watched:
    """The watchdog's bookkeeping for one child."""

    def __init__(self, child: ChildProcess):
        self.child = child
        self.restarts: deque[float] = deque()  # monotonic times of the restarts inside the window
        self.total_restarts = 0
        self.retry_at: float | None = None  # when a failed child is due to be restarted
        self.down = False


class Supervisor:
    """Starts components in the given order (consumers first), restarts a failed one with back-off
    within a budget, and stops them producers first: each is asked to stop once the components it
    consumes from have exited, so what they sent last is still handled."""

    def __init__(self, components: list[Component], policy: RestartPolicy | None = None,
                 check_s: float = 0.5):
        self.children = [ChildProcess(c) for c in components]
        self.policy = policy or RestartPolicy()
        self.check_s = check_s
        self._watched = [_Watched(c) for c in self.children]
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None

    @property
    def down(self) -> set[str]:
        with self._lock:
            return {w.child.name for w in self._watched if w.down}

    def start(self) -> None:
        for child in self.children:
            child.start()
            log.info("started %s (pid %s)", child.name, child.pid)
        self._watchdog = threading.Thread(target=self._watch, name="watchdog", daemon=True)
        self._watchdog.start()

    def states(self) -> list[ProcessState]:
        now = time.monotonic()
        with self._lock:
            return [ProcessState(w.child.name, w.child.alive() and self._hung_for(w.child, now) is None,
                                 w.down, w.total_restarts) for w in self._watched]

    def alive(self) -> dict[str, bool]:
        return {s.name: s.alive for s in self.states()}

    def reconfigure(self, components: list[Component], live: frozenset[str] = frozenset()) -> list[str]:
        """Swap in the components of a reloaded config; returns the names restarted, started or stopped.

        One equal to the running one is left alone. One named in `live` applies the change itself
        (it watches for a new config) and only keeps the new settings for its next start. Any other
        changed one is restarted, a new one started, one no longer wanted stopped. None of this
        counts against a restart budget, and a changed component that was down gets a fresh one:
        the new settings may be what it needed."""
        wanted = {c.name: c for c in components}
        changed: list[str] = []
        with self._lock:
            if self._stopping.is_set():
                return changed  # a reload racing the shutdown must not start anything
            for w in list(self._watched):
                new = wanted.pop(w.child.name, None)
                if new is None:
                    w.down = True  # the watchdog may hold it from before: it must not restart it
                    w.child.stop()
                    self._watched.remove(w)
                    self.children.remove(w.child)
                    changed.append(w.child.name)
                elif new != w.child.component:
                    w.child.component = new
                    if w.child.name in live:
                        continue
                    w.child.stop()
                    w.child.start()
                    w.retry_at, w.down = None, False
                    w.restarts.clear()
                    changed.append(w.child.name)
            for new in wanted.values():
                child = ChildProcess(new)
                self.children.append(child)
                self._watched.append(_Watched(child))
                child.start()
                changed.append(child.name)
        return changed

    def _hung_for(self, child: ChildProcess, now: float) -> float | None:
        """How long the child has been silent, if longer than it may be; None while it is fine."""
        silent, beating = child.silent_for(now)
        if not beating:
            return silent if silent > self.policy.start_grace_s else None
        limit = self.policy.liveness_s.get(child.component.kind)
        return silent if limit is not None and silent > limit else None

    def _watch(self) -> None:
        while not self._stopping.wait(self.check_s):
            for watched in list(self._watched):  # a config reload may change the list
                if self._stopping.is_set():
                    return
                try:
                    with self._lock:
                        self._check(watched, time.monotonic())
                except Exception:  # noqa: BLE001 - a failed restart (fork, memory) must not end the watch
                    log.exception("watchdog: checking %s failed; trying again", watched.child.name)

    def _check(self, w: _Watched, now: float) -> None:
        child = w.child
        if w.down:
            return
        if w.retry_at is None:
            if child.alive():
                silent = self._hung_for(child, now)
                if silent is None:
                    return
                log.error("%s is hung (no heartbeat for %.1f s): killing it", child.name, silent)
                child.kill()
            else:
                log.error("%s exited (code %s)", child.name, child.exitcode())
            child.stop(timeout=0.1)  # reap it and release what it left (shared memory)
            while w.restarts and now - w.restarts[0] > self.policy.window_s:
                w.restarts.popleft()
            if len(w.restarts) >= self.policy.budget:
                w.down = True
                log.error("%s is down: %d restarts within %.0f s used; the rest keeps running",
                          child.name, self.policy.budget, self.policy.window_s)
                return
            backoff = min(self.policy.backoff_start_s * 2 ** len(w.restarts), self.policy.backoff_max_s)
            w.retry_at = now + backoff
        if now < w.retry_at:
            return
        w.retry_at = None
        w.restarts.append(now)
        w.total_restarts += 1
        child.start()
        log.warning("restarted %s (pid %s; %d of %d within %.0f s)", child.name, child.pid,
                    len(w.restarts), self.policy.budget, self.policy.window_s)

    def stop(self) -> None:
        self._stopping.set()
        if self._watchdog is not None:
            self._watchdog.join(2 * self.check_s + 2.0)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        with self._lock:
            running = [c for c in reversed(self.children) if c.alive()]
            asked: set[str] = set()
            # Producers first; a consumer once its producers are gone, to take in what they sent.
            while running and time.monotonic() < deadline:
                kinds = {c.component.kind for c in running}
                for child in running:
                    if child.name not in asked and not kinds.intersection(child.component.stop_after):
                        child.request_stop()
                        asked.add(child.name)
                time.sleep(STOP_POLL_S)
                for child in running:
                    if not child.alive():
                        log.info("%s exited %.1f s into the shutdown", child.name,
                                 time.monotonic() - deadline + STOP_TIMEOUT_S)
                running = [c for c in running if c.alive()]
            # Whatever is left past the deadline (a hung child) is terminated, then killed.
            for child in reversed(self.children):
                child.stop(timeout=max(0.1, deadline - time.monotonic()))
                log.info("stopped %s (exit code %s)", child.name, child.last_exitcode)
