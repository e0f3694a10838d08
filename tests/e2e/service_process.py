"""Running `custodywatch` as a real process tree in tests: readiness, alerts, leftovers."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import pytest

READY_TIMEOUT_S = 90
ALERT_TIMEOUT_S = 150
USER, PASSWORD = "e2e-desk", "e2e watch desk password"
T = TypeVar("T")


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def add_user(env: dict[str, str], name: str = USER, password: str = PASSWORD,
             role: str = "watch_desk") -> None:
    """An account in the service's store (its data dir or database URL in `env`), made at the shell."""
    subprocess.run([sys.executable, "-m", "custodywatch.cli", "user", "add", name, "--role", role,
                    "--password", password], env=env, check=True, capture_output=True, timeout=60)


def login(base: str, name: str = USER, password: str = PASSWORD) -> dict[str, str]:
    """Authorization headers of a fresh session, as the page gets them."""
    response = httpx.post(base + "api/auth/login", json={"username": name, "password": password}, timeout=10)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def start_service(config: Path, env: dict[str, str], log: IO[str]) -> subprocess.Popen[str]:
    """`custodywatch run` on a free port: stdout is piped for wait_ready, stderr goes to `log`."""
    return subprocess.Popen(
        [sys.executable, "-m", "custodywatch.cli", "run", "--config", str(config), "--port", "0"],
        stdout=subprocess.PIPE, stderr=log, text=True, env=env)


def wait_ready(proc: subprocess.Popen[str], seen: list[str] | None = None) -> str:
    """The service's URL from its ready line; the lines before it go to `seen` when given."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                pytest.fail(f"service exited {proc.returncode} before ready")
            continue
        if line.startswith("custodywatch ready: "):
            return line.split(": ", 1)[1].strip()
        if seen is not None:
            seen.append(line)
    pytest.fail("no ready line")




def wait_for_alert(base: str, rule: str, log: Path, timeout_s: float = ALERT_TIMEOUT_S, *,
                   headers: dict[str, str]) -> dict[str, Any]:
    """The first stored alert of `rule`, polling /api/alerts as the page does (logged in)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        items = httpx.get(base + "api/alerts", timeout=10, headers=headers).json()["items"]
        found = [a for a in items if a["rule"] == rule]
        if found:
            return dict(found[-1])
        time.sleep(2)
    pytest.fail(f"no {rule} alert within {timeout_s} s:\n" + log.read_text()[-3000:])


def wait_until(what: str, condition: Callable[[], T | None], timeout_s: float, log: Path,
               poll_s: float = 0.2) -> tuple[T, float]:
    """The first truthy value of `condition()` and the seconds it took; fails after `timeout_s`."""
    started = time.monotonic()
    while True:
        found = condition()
        if found:
            return found, time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            pytest.fail(f"{what} not within {timeout_s} s:\n" + log.read_text()[-4000:])
        time.sleep(poll_s)


def stop_within(proc: subprocess.Popen[str], sig: signal.Signals, limit_s: float = 10.0) -> int:
    """Send `sig` as an operator would; the exit code, failing if it takes longer than `limit_s`."""
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=limit_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"did not stop within {limit_s:g} s of {sig.name}")


def assert_nothing_left(children: set[int]) -> None:
    time.sleep(0.5)
    left = [pid for pid in children if alive(pid)]
    assert left == [], f"processes left behind: {left}"
