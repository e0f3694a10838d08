"""Prometheus metrics of the API process, in a registry of its own (one per app)."""
from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from custodywatch.api.events import EventHub
from custodywatch.api.mqtt_publisher import MqttPublisher
from custodywatch.api.schemas import HealthReport
from custodywatch.api.schemas_box_health import BoxHealthReport
from custodywatch.pipeline.health import PipelineFigures
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


class PipelineCollector(Collector):
    """Per-camera and per-detector-worker figures, read from the health reports at scrape time."""

    def __init__(self, figures: Callable[[], PipelineFigures]):
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        figures = self._figures()
        cam = ["camera"]

        def gauge(name: str, doc: str, labels: list[str] = cam) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"custodywatch_{name}", doc, labels=labels)

        def counter(name: str, doc: str, labels: list[str] = cam) -> CounterMetricFamily:
            return CounterMetricFamily(f"custodywatch_{name}", doc, labels=labels)

        connected = gauge("camera_connected", "1 while the reader holds a connection that delivers frames.")
        fps_in = gauge("camera_fps_in", "Video frames received from the camera per second.")
        fps_analysed = gauge("camera_fps_analysed", "Frames handed to the detector per second.")
        last = gauge("camera_last_frame_timestamp_seconds", "Capture time of the newest frame (epoch).")
        received = counter("camera_frames_received", "Video frames received from the camera.")
        analysed = counter("camera_frames_analysed", "Frames the detector analysed.")
        late = counter("camera_frames_late",
                       "Frames analysed later than the staleness budget after their capture.")
        dropped = counter("camera_frames_dropped", "Frames dropped before analysis, by where.",
                          ["camera", "reason"])
        reconnects = counter("camera_reconnects", "Connections to the camera lost or refused.")
        for camera, f in sorted(figures.cameras.items()):
            h = f.health
            connected.add_metric([camera], float(h.connected))
            fps_in.add_metric([camera], h.fps_in)
            fps_analysed.add_metric([camera], h.fps_analysed)
            if h.last_frame_at is not None:
                last.add_metric([camera], h.last_frame_at)
            received.add_metric([camera], h.received)
            analysed.add_metric([camera], f.analysed)
            late.add_metric([camera], f.late)
            for reason, n in (("handoff", f.dropped_handoff), ("stale", f.dropped_stale),
                              ("overwritten", f.dropped_overwritten)):
                dropped.add_metric([camera, reason], n)
            reconnects.add_metric([camera], h.reconnects)
        yield from (connected, fps_in, fps_analysed, last, received, analysed, late, dropped, reconnects)

        worker = ["worker"]
        batch = gauge("detector_batch_size", "Frames in the latest batch.", worker)
        cap = gauge("detector_batch_cap", "Largest batch that fits the staleness budget now.", worker)
        inference = gauge("detector_inference_seconds", "Inference time of the latest batch.", worker)
        age = gauge("detector_queue_age_seconds",
                    "Capture-to-inference age of the oldest frame in the latest batch.", worker)
        frames = counter("detector_frames", "Frames analysed by the worker.", worker)
        batches = counter("detector_batches", "Batches run by the worker.", worker)
        for name, d in sorted(figures.detectors.items()):
            batch.add_metric([name], d.last_batch_size)
            cap.add_metric([name], d.batch_cap)
            inference.add_metric([name], d.last_inference_ms / 1000)
            age.add_metric([name], d.last_queue_age_ms / 1000)
            frames.add_metric([name], d.frames)
            batches.add_metric([name], d.batches)
        yield from (batch, cap, inference, age, frames, batches)


class MqttCollector(Collector):
    """The MQTT link to the centre's alarm systems, read from the publisher at scrape time."""

    def __init__(self, publisher: MqttPublisher):
        self._publisher = publisher

    def collect(self) -> Iterator[Metric]:
        connected = GaugeMetricFamily("custodywatch_mqtt_connected", "1 while connected to the MQTT broker.")
        connected.add_metric([], float(self._publisher.connected))
        queued = GaugeMetricFamily("custodywatch_mqtt_queued",
                                   "MQTT messages the broker has not acknowledged (held while it is away).")
        queued.add_metric([], self._publisher.queued)
        dropped = CounterMetricFamily("custodywatch_mqtt_dropped",
                                      "MQTT messages given up: the queue was full (or QoS 0 and no broker).")
        dropped.add_metric([], self._publisher.dropped)
        yield from (connected, queued, dropped)


class BoxHealthCollector(Collector):
    """The box's own figures (custodywatch/box_health.py), from the latest sample at scrape time."""

    def __init__(self, report: Callable[[], BoxHealthReport | None]):
        self._report = report

    def collect(self) -> Iterator[Metric]:
        report = self._report()
        if report is None:
            return

        def gauge(name: str, doc: str, value: float | None,
                  labels: list[str] | None = None) -> GaugeMetricFamily:
            family = GaugeMetricFamily(f"custodywatch_box_{name}", doc, labels=labels or [])
            if value is not None and not labels:
                family.add_metric([], value)
            return family

        yield gauge("disk_free_bytes", "Free space on the archive's file system.", report.disk_free_bytes)
        yield gauge("disk_total_bytes", "Size of the archive's file system.", report.disk_total_bytes)
        yield gauge("archive_write_bytes_per_second", "The archive's growth over the last hour.",
                    report.archive_write_bytes_per_s)
        yield gauge("archive_days_left", "Days until the archive's disk is full at the current rate.",
                    report.days_left)
        yield gauge("cpu_percent", "CPU in use, all cores.", report.cpu_percent)
        yield gauge("memory_percent", "Memory in use.", report.memory_percent)
        yield gauge("clock_offset_seconds", "Box clock minus its time source's (chrony).",
                    report.clock_offset_s)
        yield gauge("clock_synchronized", "1 when the time source says the clock is synchronised.",
                    None if report.clock_synchronized is None else float(report.clock_synchronized))
        drift = gauge("camera_clock_drift_seconds", "A camera's stream clock ahead of the box's.", None,
                      ["camera"])
        for camera, value in sorted(report.camera_drift_s.items()):
            if value is not None:
                drift.add_metric([camera], value)
        yield drift
        raised = gauge("health_check_raised", "1 while a box health check is past its limit.", None,
                       ["check", "severity"])
        for check in report.checks:
            raised.add_metric([check.check, check.severity.value], float(check.raised))
        yield raised


class ProcessCollector(Collector):
    """The service's processes as the supervisor sees them, from the health report at scrape time."""

    def __init__(self, health: Callable[[], HealthReport]):
        self._health = health

    def collect(self) -> Iterator[Metric]:
        report = self._health()
        up = GaugeMetricFamily("custodywatch_process_up",
                               "1 while the process runs and its heartbeat is fresh.", labels=["process"])
        down = GaugeMetricFamily("custodywatch_process_down",
                                 "1 once the process is given up on (restart budget used) until the service "
                                 "restarts.", labels=["process"])
        restarts = CounterMetricFamily("custodywatch_process_restarts",
                                       "Restarts of the process (died or hung) since the service started.",
                                       labels=["process"])
        for name, alive in sorted(report.processes.items()):
            up.add_metric([name], float(alive))
            down.add_metric([name], float(name in report.down))
        for name, count in sorted(report.restarts.items()):
            restarts.add_metric([name], count)
        yield from (up, down, restarts)


def build_registry(store: AlertStore, hub: EventHub,
                   pipeline: Callable[[], PipelineFigures] | None = None,
                   mqtt: MqttPublisher | None = None,
                   box: Callable[[], BoxHealthReport | None] | None = None,
                   health: Callable[[], HealthReport] | None = None) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StoredAlertsCollector(store))
    if health is not None:
        registry.register(ProcessCollector(health))
    if box is not None:
        registry.register(BoxHealthCollector(box))
    if pipeline is not None:
        registry.register(PipelineCollector(pipeline))
    if mqtt is not None:
        registry.register(MqttCollector(mqtt))
    clients = Gauge("custodywatch_sse_clients", "Open server-sent event streams.", registry=registry)
    clients.set_function(lambda: hub.subscriber_count)
    return registry
