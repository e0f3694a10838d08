"""The supervisor with real child processes: a hung child is noticed and restarted, restarts are
budgeted per time window, a crash loop is given up on while the rest runs, and the shutdown stops
producers before consumers so nothing sent is lost."""
from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from supervised_probe import Consumer, Crasher, Producer, Ticker

from custodywatch.pipeline.process import Component
from custodywatch.pipeline.supervisor import RestartPolicy, Supervisor

pytestmark = pytest.mark.timeout(60)

LIVENESS_S = 1.0
CHECK_S = 0.1


@contextmanager
def supervising(components: list[Component], policy: RestartPolicy) -> Iterator[Supervisor]:
    supervisor = Supervisor(components, policy, check_s=CHECK_S)
    supervisor.start()
    try:
        yield supervisor
    finally:
        supervisor.stop()


def _wait(condition: Callable[[], object], timeout_s: float, what: str) -> float:
    """Seconds until `condition()` held."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            pytest.fail(f"{what} not within {timeout_s} s")
        time.sleep(0.02)
    return time.monotonic() - started


def _running_again(supervisor: Supervisor, name: str, old_pid: int | None) -> Callable[[], bool]:
    child = next(c for c in supervisor.children if c.name == name)
    return lambda: child.pid != old_pid and supervisor.alive()[name]


def test_a_hung_child_is_killed_and_restarted_within_its_liveness_timeout() -> None:
    policy = RestartPolicy(backoff_start_s=0.1, liveness_s={"ticker": LIVENESS_S})
    with supervising([Ticker("ticker")], policy) as supervisor:
        child = supervisor.children[0]
        _wait(lambda: child.silent_for(time.monotonic())[1], 30, "a first heartbeat")
        pid = child.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # the OS still calls it alive; only its silence tells
        assert child.alive()
        recovered = _wait(_running_again(supervisor, "ticker", pid), 30, "a restart of the hung child")
        assert supervisor.states()[0].restarts == 1
        assert not Path(f"/proc/{pid}").exists(), "the hung process was not reaped"
    # Noticed after the liveness timeout, then killed, then started again (spawn, a few hundred ms).
    assert LIVENESS_S < recovered < LIVENESS_S + 10


def test_restarts_are_budgeted_per_window_so_rare_faults_never_use_the_budget_up() -> None:
    window_s = 3.0
    policy = RestartPolicy(budget=1, window_s=window_s, backoff_start_s=0.1)
    with supervising([Ticker("ticker")], policy) as supervisor:
        child = supervisor.children[0]
        restarted_at = time.monotonic()
        for fault in range(2):  # faults further apart than the window: each one is restarted
            if fault:
                time.sleep(max(0.0, window_s + 0.5 - (time.monotonic() - restarted_at)))
            pid = child.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            _wait(_running_again(supervisor, "ticker", pid), 30, f"restart after fault {fault + 1}")
            restarted_at = time.monotonic()
        # A second fault within the window of the last restart: one more than the budget.
        pid = child.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        _wait(lambda: supervisor.down == {"ticker"}, 10, "the ticker marked down")
        assert supervisor.states()[0].restarts == 2
        assert supervisor.alive() == {"ticker": False}


def test_a_crash_loop_is_given_up_on_while_the_rest_keeps_running() -> None:
    policy = RestartPolicy(budget=2, window_s=60, backoff_start_s=0.1)
    with supervising([Ticker("steady"), Crasher("crasher")], policy) as supervisor:
        steady_pid = supervisor.children[0].pid
        _wait(lambda: "crasher" in supervisor.down, 20, "the crash loop marked down")
        states = {s.name: s for s in supervisor.states()}
        assert states["crasher"].restarts == 2 and states["crasher"].down and not states["crasher"].alive
        time.sleep(0.5)  # the watchdog leaves a component that is down alone
        assert states["steady"].alive and not states["steady"].down
        assert supervisor.children[0].pid == steady_pid and supervisor.alive()["steady"]
        assert supervisor.children[1].process is None


def test_shutdown_stops_producers_first_so_consumers_handle_everything_sent(tmp_path: Path) -> None:
    endpoint = f"ipc://{tmp_path / 'numbers'}"
    sent, received = tmp_path / "sent.json", tmp_path / "received.json"
    # Started consumers first (they bind); stopped in reverse, each once its producers are gone.
    supervisor = Supervisor([Consumer("consumer", endpoint, str(received)),
                             Producer("producer", endpoint, str(sent))], RestartPolicy(), check_s=CHECK_S)
    supervisor.start()
    try:
        _wait(lambda: all(supervisor.alive().values()), 30, "both started")
        time.sleep(1.0)
    finally:
        started = time.monotonic()
        supervisor.stop()
    took = time.monotonic() - started
    last_sent, highest = json.loads(sent.read_text()), json.loads(received.read_text())
    assert last_sent > 10
    # The producer kept sending for its flush time after it was asked to stop; had the consumer
    # been asked at the same time it would have missed that last stretch.
    assert highest == last_sent, f"consumer got up to {highest} of {last_sent}"
    assert took < 5


def test_a_stopped_child_still_stops_cleanly_at_shutdown() -> None:
    # A multiprocessing Event's set() waits for every sleeper in wait() to wake: a SIGSTOPped
    # child sleeping there would hold the whole shutdown up.
    supervisor = Supervisor([Ticker("ticker")], RestartPolicy(), check_s=CHECK_S)
    supervisor.start()
    child = supervisor.children[0]
    _wait(lambda: child.silent_for(time.monotonic())[1], 30, "a first heartbeat")
    assert child.pid is not None
    os.kill(child.pid, signal.SIGSTOP)
    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 3
    assert child.last_exitcode == 0, "it was killed, not stopped"


def test_sigterm_asks_a_child_to_stop_rather_than_wedging_it(caplog: pytest.LogCaptureFixture) -> None:
    # SIGTERM's handler runs on the thread that sleeps in the stop event's wait(): setting the
    # event right there would wait for that thread itself.
    policy = RestartPolicy(backoff_start_s=0.1)
    with caplog.at_level(logging.ERROR, logger="custodywatch.supervisor"), \
            supervising([Ticker("ticker")], policy) as supervisor:
        child = supervisor.children[0]
        _wait(lambda: child.silent_for(time.monotonic())[1], 30, "a first heartbeat")
        pid = child.pid
        assert pid is not None
        os.kill(pid, signal.SIGTERM)
        # The watchdog reaps the child (and may restart it) before this thread could read its
        # exit code, so read what the watchdog saw: a clean exit, not a kill after a wedge.
        _wait(lambda: "ticker exited (code 0)" in caplog.text, 10, "the child's clean exit")
        _wait(_running_again(supervisor, "ticker", pid), 30, "a restart after it stopped unasked")
