"""A child process of the service: one stop event, one loop, a heartbeat, a clean exit.

Children ignore SIGINT (Ctrl-C reaches the whole process group; the parent decides the order of
shutdown) and treat SIGTERM as a request to stop. A child's main loop calls `heartbeat()` every
turn, so the supervisor can tell a hung child (stopped, deadlocked, stuck in a call) from a busy
one: a dead process is easy to see, a hung one only by its stamp going stale.

A multiprocessing Event's `set()` waits until every thread sleeping in its `wait()` has woken. A
sleeper that never wakes (killed, or stopped with SIGSTOP) would hold the caller forever, and a
signal handler that sets the event its own thread sleeps in waits for itself. So each start gets a
fresh event, a stopped child is continued before it is asked to stop, the request is made from a
helper thread, and a child's SIGTERM handler hands the set to a thread as well.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from abc import ABC, abstractmethod
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from typing import Any, ClassVar

from custodywatch import heap_release, memory_report
from custodywatch.logs import configure_logging
from custodywatch.pipeline.parent_watch import stop_with_parent

SPAWN = mp.get_context("spawn")

# Set in the child by `_child_main`: the shared stamp its supervisor watches.
_stamp: Synchronized[float] | None = None


def heartbeat() -> None:
    """Tell the supervisor this process's main loop is turning (a no-op outside a supervised child,
    so components also run in tests and tools without one)."""
    if _stamp is not None:
        _stamp.value = time.monotonic()


def start_heartbeat_thread(interval_s: float = 1.0) -> threading.Thread:
    """Heartbeats from a thread of its own for as long as the process lives, instead of from the
    main loop: for a component whose real work runs in other threads and whose main loop may
    legitimately block for a long time (the recorder: retention, clips, recovery at start). Only a
    frozen process (stopped, or a thread holding the GIL) then goes silent."""

    def beat() -> None:
        while True:
            heartbeat()
            time.sleep(interval_s)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    return thread


class Component(ABC):
    """What runs inside a child process. Must be picklable (it crosses a spawn)."""

    name: str
    # What sort of component this is: the key of its liveness timeout in the supervisor's settings.
    # A kind without one is watched for death only.
    kind: ClassVar[str] = "component"
    # Kinds this component consumes from: at shutdown it is asked to stop only once every one of
    # them has exited, so it still receives (and handles) what they sent before they stopped.
    stop_after: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def run(self, stop: Event) -> None:
        """Work until `stop` is set; wait with timeouts so the event is seen promptly, and call
        `heartbeat()` from the main loop at least every second or so."""

    def after_exit(self, pid: int) -> None:
        """Release what an instance that died without cleaning up left behind (called in the
        parent, before a restart and after the last stop). Nothing, unless overridden."""
        return None


PR_SET_NAME = 15
COMM_MAX = 15  # bytes of a Linux process name


def process_title(name: str) -> str:
    """What `ps -o comm`, `top` and /proc/PID/comm show for a component's process."""
    return f"cw-{name}"[:COMM_MAX]


def _set_process_title(name: str) -> None:
    # Every child is "python" otherwise: an operator could not tell which one is the detector.
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_NAME, process_title(name).encode(), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _child_main(component: Component, stop: Event, stamp: Synchronized[float], log_level: int) -> None:
    global _stamp
    _stamp = stamp
    _set_process_title(component.name)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: _set_soon(stop))
    configure_logging(component.name, log_level)
    memory_report.start_from_env(component.name)
    heap_release.start_from_env()
    stop_with_parent(stop)  # no orphans when the main process is killed outright
    try:
        component.run(stop)
    except Exception:
        logging.getLogger(component.name).exception("crashed")
        raise


def _set_soon(event: Event) -> None:
    threading.Thread(target=event.set, name="stop-request", daemon=True).start()


class ChildProcess:
    """A started component with its stop event and its heartbeat stamp."""

    def __init__(self, component: Component):
        self.component = component
        self.name = component.name
        self.stop_event: Event = SPAWN.Event()
        # A plain double without a lock: one writer (the child), and a torn read is impossible
        # for an aligned 8-byte value on the platforms we run on.
        self.stamp: Synchronized[float] = SPAWN.Value("d", 0.0, lock=False)
        self.process: Any = None
        self.pid: int | None = None
        self.started_at = 0.0
        self.last_exitcode: int | None = None  # of the last process stopped (negative: its signal)

    def start(self) -> None:
        self.stop_event = SPAWN.Event()  # the last one may have a dead sleeper
        self.stamp.value = 0.0
        process = SPAWN.Process(
            target=_child_main, name=f"custodywatch-{self.name}",
            args=(self.component, self.stop_event, self.stamp, logging.getLogger().level), daemon=False,
        )
        process.start()  # if this fails, there is no process to watch, join or stop
        self.process = process
        self.pid = process.pid
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def exitcode(self) -> int | None:
        return None if self.process is None else self.process.exitcode

    def silent_for(self, now: float) -> tuple[float, bool]:
        """Seconds since the last heartbeat (since the start when none came yet), and whether one
        came at all."""
        beat = self.stamp.value
        return (now - beat, True) if beat > 0 else (now - self.started_at, False)

    def request_stop(self) -> None:
        """Ask the component to stop, without waiting for it."""
        if not self.alive():
            return
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGCONT)  # a stopped child could not take the request
            except ProcessLookupError:
                return
        _set_soon(self.stop_event)

    def kill(self) -> None:
        """SIGKILL: works on a stopped (SIGSTOP) or deadlocked process, which SIGTERM would not end."""
        if self.process is not None and self.process.is_alive():
            self.process.kill()
            self.process.join(2.0)

    def stop(self, timeout: float = 4.0) -> None:
        if self.process is None:
            return
        self.request_stop()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2.0)
        self.last_exitcode = self.process.exitcode
        self.process.close()
        self.process = None
        if self.pid is not None:
            self.component.after_exit(self.pid)
