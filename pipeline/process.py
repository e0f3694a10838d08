"""A child process of the service: one stop event, one loop, a clean exit.

Children ignore SIGINT (Ctrl-C reaches the whole process group; the parent decides the order of
shutdown) and treat SIGTERM as a request to stop.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import sys
from abc import ABC, abstractmethod
from multiprocessing.synchronize import Event
from typing import Any

SPAWN = mp.get_context("spawn")


class Component(ABC):
    """What runs inside a child process. Must be picklable (it crosses a spawn)."""

    name: str

    @abstractmethod
    def run(self, stop: Event) -> None:
        """Work until `stop` is set; wait with timeouts so the event is seen promptly."""


def _child_main(component: Component, stop: Event, log_level: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    logging.basicConfig(level=log_level, stream=sys.stderr,
                        format=f"%(asctime)s %(levelname)s {component.name}: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        component.run(stop)
    except Exception:
        logging.getLogger(component.name).exception("crashed")
        raise


class ChildProcess:
    """A started component with its stop event."""

    def __init__(self, component: Component):
        self.component = component
        self.name = component.name
        self.stop_event: Event = SPAWN.Event()
        self.process: Any = None
        self.restarts = 0

    def start(self) -> None:
        self.stop_event.clear()
        self.process = SPAWN.Process(
            target=_child_main, name=f"custodywatch-{self.name}",
            args=(self.component, self.stop_event, logging.getLogger().level), daemon=False,
        )
        self.process.start()

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def request_stop(self) -> None:
        """Ask the component to stop, without waiting for it."""
        self.stop_event.set()

    def stop(self, timeout: float = 4.0) -> None:
        if self.process is None:
            return
        self.stop_event.set()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2.0)
        self.process.close()
        self.process = None
