"""A config reload in the process tree: only the components whose settings changed are restarted;
one that applies changes itself keeps running; a removed one stops, a new one starts."""
from __future__ import annotations

import time
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from typing import ClassVar

from custodywatch.pipeline.process import Component, heartbeat
from custodywatch.pipeline.supervisor import Supervisor


@dataclass
class Configured(Component):
    """A child with one setting, heartbeating until stopped."""

    name: str
    setting: int = 0
    kind: ClassVar[str] = "configured"

    def run(self, stop: Event) -> None:
        while not stop.wait(0.1):
            heartbeat()


def _all_alive(supervisor: Supervisor, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(s.alive for s in supervisor.states()):
        assert time.monotonic() < deadline, supervisor.states()
        time.sleep(0.1)


def test_a_reload_restarts_only_the_components_whose_settings_changed() -> None:
    names = ("same", "changed", "live", "gone")
    supervisor = Supervisor([Configured(name) for name in names], check_s=0.1)
    supervisor.start()
    try:
        _all_alive(supervisor)
        before = {c.name: c.pid for c in supervisor.children}

        touched = supervisor.reconfigure(
            [Configured("same"), Configured("changed", 1), Configured("live", 1), Configured("new")],
            live=frozenset({"live"}))

        assert touched == ["changed", "gone", "new"]
        _all_alive(supervisor)
        after = {c.name: c.pid for c in supervisor.children}
        assert after.keys() == {"same", "changed", "live", "new"}
        assert (after["same"], after["live"]) == (before["same"], before["live"])
        assert after["changed"] != before["changed"]
        # The live one keeps the new settings for its next start.
        live = next(c for c in supervisor.children if c.name == "live")
        assert live.component == Configured("live", 1)
        assert {s.name: s.restarts for s in supervisor.states()} == dict.fromkeys(after, 0)
    finally:
        supervisor.stop()
    assert not any(c.alive() for c in supervisor.children)
