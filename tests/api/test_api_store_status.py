"""The health report's `store`: what analytics and the recorder report of the database, turned into
what the watch desk sees (an alarm while alert events wait for it)."""
from __future__ import annotations

from typing import Any

from custodywatch.api.schemas import HealthReport
from custodywatch.api.store_status import STALE_S, StoreStatus
from custodywatch.pipeline.store_report import HEALTHY_REPEAT_S, REPEAT_S, StoreReport, StoreReporter

T0 = 1_790_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def health(status: StoreStatus) -> HealthReport:
    return HealthReport(processes={"api": True}, store=status.report())


def test_alert_events_waiting_make_an_alarm_and_an_unreachable_store_a_warning() -> None:
    status = StoreStatus(Clock())
    assert health(status).severity == "ok" and health(status).store is None
    status.update(StoreReport("analytics", 0, None))
    assert health(status).severity == "ok"
    status.update(StoreReport("recorder", 0, T0))
    report = health(status)
    assert report.severity == "warning" and report.store is not None and not report.store.reachable
    assert report.store.unavailable_since is not None and report.store.unavailable_since.timestamp() == T0
    status.update(StoreReport("analytics", 2, T0 + 3))
    report = health(status)
    assert report.severity == "alarm" and report.store is not None
    assert report.store.alert_events_waiting == 2
    assert report.store.waiting_by_process == {"analytics": 2}
    assert report.store.unavailable_since is not None and report.store.unavailable_since.timestamp() == T0
    status.update(StoreReport("analytics", 0, None))
    status.update(StoreReport("recorder", 0, None))
    report = health(status)
    assert report.severity == "ok" and report.store is not None and report.store.reachable


def test_a_process_that_stops_reporting_an_outage_is_forgotten_its_successor_reports_afresh() -> None:
    clock = Clock()
    status = StoreStatus(clock)
    status.update(StoreReport("analytics", 2, T0))
    clock.now += STALE_S - 1
    assert health(status).severity == "alarm"
    clock.now += 2  # killed: no repeat came
    report = health(status)
    assert report.severity == "ok" and report.store is not None and report.store.alert_events_waiting == 0
    status.update(StoreReport("analytics", 2, T0 + 40))  # the restarted process, from its spool
    assert health(status).severity == "alarm"


class Sent:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send_json(self, obj: Any, flags: int = 0) -> None:
        self.messages.append(obj)


def test_a_reporter_sends_changes_and_repeats_while_the_store_is_down() -> None:
    sent = Sent()
    reporter = StoreReporter(sent, "analytics")
    reporter.update(0, None, T0)
    reporter.update(0, None, T0 + 1)
    assert len(sent.messages) == 1  # the start, then nothing new
    reporter.update(0, T0 + 2, T0 + 2)
    reporter.update(1, T0 + 2, T0 + 3)
    reporter.update(1, T0 + 2, T0 + 3 + REPEAT_S / 2)
    reporter.update(1, T0 + 2, T0 + 3 + REPEAT_S)
    assert [StoreReport.from_message(m) for m in sent.messages[1:]] == [
        StoreReport("analytics", 0, T0 + 2), StoreReport("analytics", 1, T0 + 2),
        StoreReport("analytics", 1, T0 + 2)]
    reporter.update(0, None, T0 + 20)
    reporter.update(0, None, T0 + 20 + HEALTHY_REPEAT_S / 2)
    reporter.update(0, None, T0 + 20 + HEALTHY_REPEAT_S)
    assert [m["unavailable_since"] for m in sent.messages[4:]] == [None, None]
