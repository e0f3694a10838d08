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
from custodywatch.rules.view import ViewSample

if TYPE_CHECKING:
    from custodywatch.store.rules_state import RulesStateStore

log = logging.getLogger("custodywatch.analytics")

SAVE_EVERY_S = 2.0
CUSTODY_POLL_S = 5.0
# Released records older than this no longer matter to a clock (the longest legal limit is 24 h).
CUSTODY_LOOKBACK_S = 2 * 86400.0
ENGINE_SCOPE = "engine"


def camera_scope(camera: str) -> str:
    return f"camera/{camera}"


@dataclass
class AnalyticsService(Component):
    config: Config
    database_url: str
    detections_endpoint: str
    events_endpoint: str
    name: str = "analytics"

    def run(self, stop: Event) -> None:
        from custodywatch.store.alerts import AlertStore, AlertStoreError
        from custodywatch.store.db import make_engine
        from custodywatch.store.rules_state import RulesStateStore

        cfg = self.config
        db = make_engine(self.database_url)
        store = AlertStore(db, cfg.site.id, cfg.site.box_id)
        rules_store = RulesStateStore(db)
        analyzers = {c.id: CameraAnalyzer(c, cfg.room(c.room).type, cfg.roles) for c in cfg.cameras}
        engine = RuleEngine(cfg)
        started = time.time()
        saved = rules_store.load_state()
        if ENGINE_SCOPE in saved:
            engine.load_state(saved[ENGINE_SCOPE])
        for camera, camera_analyzer in analyzers.items():
            if camera_scope(camera) in saved:
                camera_analyzer.load_state(saved[camera_scope(camera)], started)
        if saved:
            log.info("rule state restored (%d scopes)", len(saved))
        engine.set_custody(rules_store.custody_records(open_since=started - CUSTODY_LOOKBACK_S))
        last_save = last_custody = started
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
                        analyzer = analyzers.get(msg.camera)
                        if analyzer is None:
                            continue
                        # The reader measures the view when it can (FrameDetections.view).
                        view: ViewSample | None = getattr(msg, "view", None)
                        engine.observe_view(msg.camera, msg.wall, view)
                        engine.observe(analyzer.observe(msg.wall, msg.detections, msg.size,
                                                        blind=engine.sight_lost(msg.camera)))
                now = time.time()
                if now - last_custody >= CUSTODY_POLL_S:
                    try:
                        engine.set_custody(rules_store.custody_records(open_since=now - CUSTODY_LOOKBACK_S))
                    except SQLAlchemyError:
                        log.exception("custody records not read; the clocks go on with the ones known")
                    last_custody = now
                events = engine.advance(now)
                for event in events:
                    # Committed before it is pushed: a crash in between loses no alert.
                    try:
                        store.apply(event)
                    except AlertStoreError:
                        log.exception("alert event %s for %s not stored", event.kind, event.alert_id)
                        continue
                    log.info("alert %s %s %s in %s (%s)", event.kind, event.rule.value, event.severity.value,
                             event.room, event.alert_id)
                    pub.send_json({"type": "alert", "event": event.to_dict()})
                try:
                    rules_store.add_room_counts(engine.room_counts())
                except SQLAlchemyError:
                    log.exception("room counts not stored")
                if events or now - last_save >= SAVE_EVERY_S:
                    save_state(rules_store, engine, analyzers)
                    last_save = now
            save_state(rules_store, engine, analyzers)
        finally:
            zctx.destroy(linger=500)
            db.dispose()


def save_state(rules_store: RulesStateStore, engine: RuleEngine,
               analyzers: dict[str, CameraAnalyzer]) -> None:
    states = {ENGINE_SCOPE: engine.state()}
    states.update({camera_scope(c): a.state() for c, a in analyzers.items()})
    try:
        rules_store.save_state(states)
    except SQLAlchemyError:  # a busy or unreachable store must not stop the rules; the next save retries
        log.exception("rule state not saved")
