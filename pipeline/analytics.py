"""The analytics process: tracker, roles and rules for every room, alerts committed then published.

The rules' state (when each condition began, custody clocks, open alerts, what each camera counted)
is saved to the store every few seconds and after every alert event, and loaded at start, so a
restart changes no alert time. Alert ids follow from the condition, so an event replayed after a
crash between storing it and saving the state is recognised by the store.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from typing import TYPE_CHECKING

import zmq
from sqlalchemy.exc import SQLAlchemyError

from custodywatch.config import Config
from custodywatch.pipeline.messages import FrameDetections
from custodywatch.pipeline.process import Component
from custodywatch.rules.camera import CameraAnalyzer
from custodywatch.rules.engine import RuleEngine
from custodywatch.rules.events import AlertEvent
from custodywatch.rules.posture import Posture

if TYPE_CHECKING:
    from custodywatch.store.alerts import AlertStore
    from custodywatch.store.rules_state import RulesStateStore

log = logging.getLogger("custodywatch.analytics")

SAVE_EVERY_S = 2.0
# The cameras' reference views (video_loss) change slowly and weigh a few kB each.
SAVE_REFERENCES_EVERY_S = 60.0
CUSTODY_POLL_S = 5.0
# Released records older than this no longer matter to a clock (the longest legal limit is 24 h).
CUSTODY_LOOKBACK_S = 2 * 86400.0
# Room counts (the UI's room timeline) are kept as long as the recordings they describe.
PRUNE_COUNTS_EVERY_S = 3600.0
ENGINE_SCOPE = "engine"
REFERENCES_SCOPE = "references"


def camera_scope(camera: str) -> str:
    return f"camera/{camera}"


class LiveRules:
    """The rules of every room on the box's clock, with their state kept in the store."""

    def __init__(self, cfg: Config, alerts: AlertStore, state: RulesStateStore, now: float):
        self.alerts = alerts
        self.state = state
        self.analyzers = {c.id: CameraAnalyzer(c, cfg.room(c.room).type, cfg.roles) for c in cfg.cameras}
        self.engine = RuleEngine(cfg)
        self._keep_counts_s = cfg.recorder.retention_days * 86400.0
        self._restore(now)
        self._last_save = self._last_custody = self._last_references = now
        self._last_prune = now - PRUNE_COUNTS_EVERY_S

    def _restore(self, now: float) -> None:
        saved = self.state.load_state()
        if ENGINE_SCOPE in saved:
            self.engine.load_state(saved[ENGINE_SCOPE])
        if REFERENCES_SCOPE in saved:
            self.engine.load_references(saved[REFERENCES_SCOPE])
        for camera, analyzer in self.analyzers.items():
            if camera_scope(camera) in saved:
                analyzer.load_state(saved[camera_scope(camera)], now)
        if saved:
            log.info("rule state restored (%d scopes)", len(saved))
        self.engine.expect_frames(now)
        self.engine.set_custody(self.state.custody_records(open_since=now - CUSTODY_LOOKBACK_S))

    def frame(self, msg: FrameDetections) -> None:
        analyzer = self.analyzers.get(msg.camera)
        if analyzer is None:
            return
        self.engine.observe_view(msg.camera, msg.wall, msg.view)
        blind = self.engine.sight_lost(msg.camera)
        self.engine.observe(analyzer.observe(msg.wall, msg.detections, msg.size, blind=blind))
        # The guard's posture, where a pose model reads it (FrameDetections.posture, a Posture value).
        posture: str | None = getattr(msg, "posture", None)
        if posture is not None:
            self.engine.observe(analyzer.observe_posture(msg.wall, Posture(posture)))

    def tick(self, now: float) -> list[AlertEvent]:
        """Advance the rules to `now`; the events returned are stored already."""
        if now - self._last_custody >= CUSTODY_POLL_S:
            self._last_custody = now
            try:
                self.engine.set_custody(self.state.custody_records(open_since=now - CUSTODY_LOOKBACK_S))
            except SQLAlchemyError:
                log.exception("custody records not read; the clocks go on with the ones known")
        events = self.engine.advance(now)
        stored = [e for e in events if self._store(e)]
        self._store_counts(now)
        references = now - self._last_references >= SAVE_REFERENCES_EVERY_S
        if events or references or now - self._last_save >= SAVE_EVERY_S:
            self.save(references)
            self._last_save = now
            if references:
                self._last_references = now
        return stored

    def save(self, references: bool = False) -> None:
        states = {ENGINE_SCOPE: self.engine.state()}
        if references:
            states[REFERENCES_SCOPE] = self.engine.references()
        states.update({camera_scope(c): a.state() for c, a in self.analyzers.items()})
        try:
            self.state.save_state(states)
        except SQLAlchemyError:  # a busy or unreachable store must not stop the rules; the next save retries
            log.exception("rule state not saved")

    def _store(self, event: AlertEvent) -> bool:
        from custodywatch.store.alerts import AlertStoreError

        try:
            self.alerts.apply(event)
        except AlertStoreError:
            log.exception("alert event %s for %s not stored", event.kind, event.alert_id)
            return False
        log.info("alert %s %s %s in %s (%s)", event.kind, event.rule.value, event.severity.value,
                 event.room, event.alert_id)
        return True

    def _store_counts(self, now: float) -> None:
        try:
            self.state.add_room_counts(self.engine.room_counts())
            if now - self._last_prune >= PRUNE_COUNTS_EVERY_S:
                self.state.forget_room_counts_before(now - self._keep_counts_s)
                self._last_prune = now
        except SQLAlchemyError:
            log.exception("room counts not stored")


@dataclass
class AnalyticsService(Component):
    config: Config
    database_url: str
    detections_endpoint: str
    events_endpoint: str
    name: str = "analytics"

    def run(self, stop: Event) -> None:
        from custodywatch.store.alerts import AlertStore
        from custodywatch.store.db import make_engine
        from custodywatch.store.rules_state import RulesStateStore

        cfg = self.config
        db = make_engine(self.database_url)
        rules = LiveRules(cfg, AlertStore(db, cfg.site.id, cfg.site.box_id), RulesStateStore(db), time.time())
        zctx = zmq.Context()
        pull = zctx.socket(zmq.PULL)
        pull.bind(self.detections_endpoint)
        pub = zctx.socket(zmq.PUB)
        pub.setsockopt(zmq.LINGER, 500)
        pub.connect(self.events_endpoint)  # the API binds: either side may restart
        try:
            while not stop.is_set():
                if pull.poll(200):
                    while True:
                        try:
                            msg: FrameDetections = pull.recv_pyobj(flags=zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        rules.frame(msg)
                # Committed before it is pushed: a crash in between loses no alert.
                for event in rules.tick(time.time()):
                    pub.send_json({"type": "alert", "event": event.to_dict()})
            rules.save(references=True)
        finally:
            zctx.destroy(linger=500)
            db.dispose()
