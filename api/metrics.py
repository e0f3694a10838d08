"""Prometheus metrics of the API process, in a registry of its own (one per app)."""
from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from custodywatch.api.events import EventHub
from custodywatch.store.alerts import AlertStore


class StoredAlertsCollector(Collector):
    """Counts read from the store at scrape time, so they hold across restarts and processes."""

    def __init__(self, store: AlertStore):
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "custodywatch_alerts",
            "Stored alerts by rule, severity, workflow state and whether the condition is active.",
            labels=["rule", "severity", "state", "active"],
        )
        for c in self._store.counts():
            family.add_metric([c.rule, c.severity, c.state, str(c.active).lower()], c.count)
        yield family


def build_registry(store: AlertStore, hub: EventHub) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StoredAlertsCollector(store))
    clients = Gauge("custodywatch_sse_clients", "Open server-sent event streams.", registry=registry)
    clients.set_function(lambda: hub.subscriber_count)
    return registry
