"""Prometheus figures of the box's link to the centre (store-and-forward), read at scrape time."""
from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from custodywatch.forwarder import ForwardingStatus


class ForwardingCollector(Collector):
    def __init__(self, status: Callable[[], ForwardingStatus]):
        self._status = status

    def collect(self) -> Iterator[GaugeMetricFamily]:
        s = self._status()
        yield GaugeMetricFamily("custodywatch_forward_connected",
                                "1 while the last attempt reached the central database.",
                                value=float(s.connected))
        yield GaugeMetricFamily("custodywatch_forward_pending_rows",
                                "Outbox rows the central database does not hold yet.", value=s.pending)
        yield GaugeMetricFamily("custodywatch_forward_oldest_pending_age_seconds",
                                "Age of the oldest outbox row not yet held centrally (0: none).",
                                value=s.oldest_age_s or 0.0)
        yield GaugeMetricFamily("custodywatch_forward_acked_seq",
                                "Every outbox row up to this sequence is held centrally.", value=s.acked_seq)
        yield GaugeMetricFamily("custodywatch_forward_failures",
                                "Attempts to reach the central database failed since the last success.",
                                value=s.failures)
