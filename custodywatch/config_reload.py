"""Reloading the config file while the service runs (SIGHUP, `systemctl reload`, the zone editor).

The file is read and validated as at start. An invalid file changes nothing: the service runs on
with the config it has, the problems are logged with their lines and shown on /healthz. A valid
one is handed to whatever applies it (the API, the process tree); settings that only a restart can
apply (the sections in RESTART_ONLY) keep their running values and are reported as pending.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from custodywatch.api.schemas_config import ConfigReloadReport
from custodywatch.config import Config, ConfigError, load_config

log = logging.getLogger("custodywatch.config")

# Read once at start: the detector's sessions, the API's socket, the store, the site's alert ids.
RESTART_ONLY = ("site", "detector", "store", "api", "supervisor", "health", "mqtt", "central")

# Applies a config; returns the names of the processes it restarted, started or stopped.
Applier = Callable[[Config], list[str]]


def applicable(started: Config, new: Config) -> tuple[Config, list[str]]:
    """`new` with the restart-only settings kept as the service started with them, and which differed."""
    keep: dict[str, object] = {}
    pending = []
    for section in RESTART_ONLY:
        if getattr(new, section) != getattr(started, section):
            keep[section] = getattr(started, section)
            pending.append(section)
    recorder = new.recorder
    if recorder.archive_dir != started.recorder.archive_dir:
        recorder = recorder.model_copy(update={"archive_dir": started.recorder.archive_dir})
        pending.append("recorder.archive_dir")
    return new.model_copy(update={**keep, "recorder": recorder}), pending


class ConfigReloader:
    def __init__(self, path: Path, started: Config):
        self.path = path
        self.started = started
        self._current = started
        self._appliers: list[Applier] = []
        self._lock = threading.Lock()
        self._last: ConfigReloadReport | None = None

    @property
    def current(self) -> Config:
        return self._current

    def on_reload(self, applier: Applier) -> None:
        self._appliers.append(applier)

    def last(self) -> ConfigReloadReport | None:
        return self._last

    def reload(self, trigger: str) -> ConfigReloadReport:
        with self._lock:
            report = self._reload(trigger)
            self._last = report
            return report

    def _reload(self, trigger: str) -> ConfigReloadReport:
        at = datetime.fromtimestamp(time.time(), UTC)
        try:
            new = load_config(self.path)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("config reload (%s) refused, the running config stays: %s", trigger, problem)
            return ConfigReloadReport(at=at, trigger=trigger, ok=False,
                                      problems=[str(p) for p in exc.problems])
        applied, pending = applicable(self.started, new)
        changed: list[str] = []
        if applied != self._current:
            self._current = applied  # valid: what the next reload is compared with, whatever follows
            try:
                for apply in self._appliers:
                    changed.extend(apply(applied))
            except Exception as exc:  # noqa: BLE001 - a failed start is the watchdog's to retry; say so
                log.exception("config reload (%s): applying the new config failed", trigger)
                return ConfigReloadReport(at=at, trigger=trigger, ok=False, changed=changed,
                                          pending_restart=pending,
                                          problems=[f"applying the new config failed ({exc}); the watchdog "
                                                    "retries what did not start, or restart the service"])
        if pending:
            log.warning("config reload (%s): %s changed; applied at the next restart", trigger,
                        ", ".join(pending))
        log.info("config reloaded (%s) from %s%s", trigger, self.path,
                 f"; restarted, started or stopped: {', '.join(changed)}" if changed else "")
        return ConfigReloadReport(at=at, trigger=trigger, ok=True, changed=changed, pending_restart=pending)
