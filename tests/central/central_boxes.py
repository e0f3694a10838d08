"""Edge boxes for forwarding tests: a real SQLite store each, a forwarder to one central database."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from custodywatch.config import CentralLinkConfig
from custodywatch.forwarder import Forwarder
from custodywatch.rules.events import AlertEvent
from custodywatch.store.alerts import AlertStore
from custodywatch.store.db import make_engine, migrate
from custodywatch.store.outbox import Outbox
from custodywatch.vocabulary import RuleId, Severity

T0 = 1_700_000_000.0
# The shared server trusts local connections, so it never asks for this password; it is in the URL
# to show that it appears nowhere the forwarder reports.
PASSWORD = "s3cret-pw"


def with_password(url: str) -> str:
    _scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"postgresql://{user}:{PASSWORD}@{host}"  # as an installer writes it, without the driver


def fired(alert_id: str, at: float, room: str = "interrogation-1") -> AlertEvent:
    return AlertEvent("fired", alert_id, RuleId.SINGLE_OFFICER, room, "cam-i1", Severity.ALARM, at - 60, at)


def ended(alert: AlertEvent, at: float) -> AlertEvent:
    return AlertEvent("ended", alert.alert_id, alert.rule, alert.room, alert.camera, alert.severity,
                      alert.condition_started_at, at)


@dataclass
class Box:
    """One edge box: its own database, alert store and forwarder."""

    site_id: str
    box_id: str
    directory: Path
    central_url: str
    fired: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.engine: Engine = make_engine(f"sqlite:///{self.directory / self.box_id / 'custodywatch.db'}")
        migrate(self.engine)
        self.alerts = AlertStore(self.engine, self.site_id, self.box_id)
        self.outbox = Outbox(self.engine)
        link = CentralLinkConfig(database_url=with_password(self.central_url), interval_s=0.2,
                                 retry_max_s=2.0, connect_timeout_s=2, batch=50)
        self.forwarder = Forwarder(self.engine, link, self.site_id, self.box_id)

    def fire(self) -> AlertEvent:
        n = len(self.fired)
        event = fired(f"{self.site_id}-{self.box_id}-{n:03d}", T0 + 100 * n)
        self.alerts.apply(event)
        self.fired.append(event.alert_id)
        return event

    def close(self) -> None:
        self.forwarder.stop()
        self.engine.dispose()


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Seconds until `condition` held; fails the test after `timeout_s`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(0.1)
    return time.monotonic() - start
