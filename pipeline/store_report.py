"""What a process that writes alerts tells the API about the store: reachable or not, and how many
alert events wait for it.

While the store cannot take alerts they reach no page (an alert is committed before it is pushed),
so the watch desk must at least hear that they wait: the API turns these reports into the health
report's `store`, which the page shows and the live feed pushes even while the database is down.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

MESSAGE_TYPE = "store"
# While the store is down a report is repeated this often, so the API can tell a process that
# stopped reporting (died) from one still waiting.
REPEAT_S = 5.0
HEALTHY_REPEAT_S = 60.0


class Publisher(Protocol):
    def send_json(self, obj: Any, flags: int = ...) -> None: ...


@dataclass(frozen=True)
class StoreReport:
    source: str  # the process: "analytics", "recorder"
    waiting: int  # alert events kept until the store takes them
    unavailable_since: float | None  # epoch seconds; None: the store answers

    def to_message(self) -> dict[str, Any]:
        return {"type": MESSAGE_TYPE, "source": self.source, "waiting": self.waiting,
                "unavailable_since": self.unavailable_since}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> StoreReport:
        since = message["unavailable_since"]
        return cls(str(message["source"]), int(message["waiting"]), None if since is None else float(since))


class StoreReporter:
    """Publishes a process's store state when it changes, and again every few seconds while the
    store is down (every minute while it answers)."""

    def __init__(self, pub: Publisher, source: str, repeat_s: float = REPEAT_S):
        self._pub = pub
        self._source = source
        self._repeat_s = repeat_s
        self._last: StoreReport | None = None
        self._next = 0.0

    def update(self, waiting: int, unavailable_since: float | None, now: float) -> None:
        report = StoreReport(self._source, waiting, unavailable_since)
        if report == self._last and now < self._next:
            return
        self._pub.send_json(report.to_message())
        self._last = report
        # Repeated while healthy too, seldom: a lost "store back" must not leave the page alarmed.
        self._next = now + (self._repeat_s if unavailable_since is not None else HEALTHY_REPEAT_S)
