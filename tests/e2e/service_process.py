"""Running `custodywatch` as a real process tree in tests: readiness, alerts, leftovers."""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

READY_TIMEOUT_S = 90
ALERT_TIMEOUT_S = 150


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


def wait_ready(proc: subprocess.Popen[str]) -> str:
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
    pytest.fail("no ready line")




def wait_for_alert(base: str, rule: str, log: Path, timeout_s: float = ALERT_TIMEOUT_S) -> dict[str, Any]:
    """The first stored alert of `rule`, polling /api/alerts as the page does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        items = httpx.get(base + "api/alerts", timeout=10).json()["items"]
        found = [a for a in items if a["rule"] == rule]
        if found:
            return dict(found[-1])
        time.sleep(2)
    pytest.fail(f"no {rule} alert within {timeout_s} s:\n" + log.read_text()[-3000:])


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
