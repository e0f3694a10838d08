"""Samples the box's health every `health.sample_every_s` in a thread of the API process and keeps
the latest report for /healthz, /metrics and the page's live feed."""
from __future__ import annotations

import logging
import threading
import time

from custodywatch.api.schemas_box_health import BoxHealthReport
from custodywatch.box_health import BoxHealthRules
from custodywatch.box_sampler import BoxSampler
from custodywatch.config import HealthConfig

log = logging.getLogger("custodywatch.box_health")


class BoxHealthMonitor:
    def __init__(self, sampler: BoxSampler, cfg: HealthConfig):
        self.sampler = sampler
        self.cfg = cfg
        self.rules = BoxHealthRules(cfg)
        self._latest: BoxHealthReport | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="box-health", daemon=True)

    def sample_once(self, now: float | None = None) -> BoxHealthReport:
        sample = self.sampler.sample(time.time() if now is None else now)
        with self._lock:
            for change in self.rules.step(sample):
                log.log(logging.WARNING if change.kind == "raised" else logging.INFO,
                        "box health %s %s: %s (limit %s)", change.check, change.kind, change.value,
                        change.limit)
            self._latest = BoxHealthReport.of(sample, self.rules.statuses(), self.rules.severity())
            return self._latest

    def report(self) -> BoxHealthReport | None:
        with self._lock:
            return self._latest

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample_once()
            except Exception:  # a failed sample must not end the sampling; the next one retries
                log.exception("box health not sampled")
            self._stop.wait(self.cfg.sample_every_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)
