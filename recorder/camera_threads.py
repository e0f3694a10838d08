"""The recorder process's camera threads, each stoppable on its own, so a reloaded config restarts
the recording of only the cameras whose recording changed.

A camera is re-recorded when its URL or the segment length changed (what `start_causes` keeps a
fingerprint of); its new recorder indexes the time between the old one's last segment and its own
first as a gap with cause `config_change`. Every other camera's segment goes on untouched; a new
`video_loss` threshold is applied to its running recorder.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from custodywatch.recorder.camera import CameraRecorder, CameraStats, RecorderListener
from custodywatch.recorder.index import ArchiveIndex, GapCause

log = logging.getLogger("custodywatch.recorder")

JOIN_S = 15.0


class CameraPlan(Protocol):
    """What a camera's recording needs (service.RecordedCamera)."""

    @property
    def id(self) -> str: ...

    @property
    def url(self) -> str: ...

    @property
    def loss_after_s(self) -> float: ...


@dataclass
class _Running:
    plan: CameraPlan
    recorder: CameraRecorder
    thread: threading.Thread
    halt: threading.Event


@dataclass(frozen=True)
class Reconfigured:
    restarted: list[str]
    started: list[str]
    stopped: list[str]


class CameraThreads:
    def __init__(self, index: ArchiveIndex, listener: RecorderListener, segment_s: float):
        self.index, self.listener, self.segment_s = index, listener, segment_s
        self._running: dict[str, _Running] = {}

    def start(self, plan: CameraPlan, cause: GapCause) -> None:
        recorder = CameraRecorder(plan.id, plan.url, self.index, segment_s=self.segment_s,
                                  loss_after_s=plan.loss_after_s, start_cause=cause, listener=self.listener)
        halt = threading.Event()
        thread = threading.Thread(target=recorder.run, args=(halt,), name=f"rec-{plan.id}", daemon=True)
        thread.start()
        self._running[plan.id] = _Running(plan, recorder, thread, halt)

    def stop(self, camera: str) -> None:
        running = self._running.pop(camera)
        running.halt.set()
        running.thread.join(timeout=JOIN_S)

    def stop_all(self) -> None:
        for running in self._running.values():
            running.halt.set()  # all at once: each closes its segment at the same moment
        for camera in list(self._running):
            self.stop(camera)

    def stats(self) -> list[CameraStats]:
        return [r.recorder.stats for r in self._running.values()]

    def reconfigure(self, plans: Sequence[CameraPlan], segment_s: float) -> Reconfigured:
        """Record `plans` from now on, restarting only the cameras whose recording changed."""
        wanted = {p.id: p for p in plans}
        new_segments = segment_s != self.segment_s
        self.segment_s = segment_s
        restarted, started, stopped = [], [], []
        for camera, running in list(self._running.items()):
            plan = wanted.get(camera)
            if plan is None:
                self.stop(camera)
                stopped.append(camera)
            elif new_segments or plan.url != running.plan.url:
                self.stop(camera)
                self.start(plan, GapCause.CONFIG_CHANGE)
                restarted.append(camera)
            else:
                running.recorder.loss_after_s = plan.loss_after_s
                running.plan = plan
        for camera, plan in wanted.items():
            if camera not in self._running:
                # A camera recorded before, removed and added back: its absence was a config change.
                self.start(plan, GapCause.CONFIG_CHANGE)
                started.append(camera)
        if restarted or started or stopped:
            log.info("config reloaded: recording restarted for %s, started for %s, stopped for %s; "
                     "the other cameras record on", restarted or "none", started or "none", stopped or "none")
        return Reconfigured(restarted, started, stopped)
