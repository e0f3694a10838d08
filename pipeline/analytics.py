"""The analytics process: tracker, roles and rules for every room, alerts committed then published."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Event

import zmq

from custodywatch.config import Config
from custodywatch.pipeline.messages import FrameDetections
from custodywatch.pipeline.process import Component
from custodywatch.rules.camera import CameraAnalyzer
from custodywatch.rules.engine import RuleEngine

log = logging.getLogger("custodywatch.analytics")


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

        cfg = self.config
        db = make_engine(self.database_url)
        store = AlertStore(db, cfg.site.id, cfg.site.box_id)
        analyzers = {c.id: CameraAnalyzer(c, cfg.room(c.room).type, cfg.roles) for c in cfg.cameras}
        engine = RuleEngine(cfg)
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
                        if analyzer is not None:
                            engine.observe(analyzer.observe(msg.wall, msg.detections, msg.size))
                for event in engine.advance(time.time()):
                    # Committed before it is pushed: a crash in between loses no alert.
                    try:
                        store.apply(event)
                    except AlertStoreError:
                        log.exception("alert event %s for %s not stored", event.kind, event.alert_id)
                        continue
                    log.info("alert %s %s %s in %s (%s)", event.kind, event.rule.value, event.severity.value,
                             event.room, event.alert_id)
                    pub.send_json({"type": "alert", "event": event.to_dict()})
        finally:
            zctx.destroy(linger=500)
            db.dispose()
