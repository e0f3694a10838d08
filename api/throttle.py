"""The failed-login limit: after too many wrong passwords for one name, or from one address, within
a window, further attempts are refused (429) without checking the password until the window moves
on. An address gets a larger allowance than a name: a watch desk is one shared PC, and one person
mistyping should not lock the whole shift out.

Kept in memory: the API is one process, and a restart forgetting it costs an attacker a restart of
the box.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    def __init__(self, per_user: int = 5, per_address: int = 20, window_s: float = 300.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until an attempt is allowed again, or None if it is allowed now."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key, limit in ((("user", username), self.per_user), (("address", address), self.per_address)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = max(wait, times[-limit] + self.window_s - now)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            for key in (("user", username), ("address", address)):
                self._recent(key, now).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(("user", username), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times
