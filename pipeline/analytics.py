"""The analytics process: tracker, roles and rules for every room, alerts committed then published.

The rules' state (when each condition began, custody clocks, open alerts, what each camera counted)
is saved to the store every few seconds and after every alert event, and loaded at start, so a
restart changes no alert time. Alert ids follow from the condition, so an event replayed after a
crash between storing it and saving the state is recognised by the store.

A store that cannot take an alert (SQLite locked past its busy timeout, PostgreSQL unreachable)
costs no alert: the events wait in order in a bounded backlog and are written, with their own
times, when it answers again (`alert_backlog`). Meanwhile the other writes wait too, and the rules'
state is not saved, so that a crash in the outage replays the events instead of forgetting them.
The backlog is also spooled to the box's disk, so even events of conditions no longer seen after
the restart are written. A store that does not answer at start is waited for, with heartbeats, not
crashed on: crashing would spend the restart budget on an outage the box can ride out.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import zmq
from sqlalchemy.exc import SQLAlchemyError

from custodywatch.config import Config
from custodywatch.pipeline.alert_backlog import AlertBacklog, spooled
from custodywatch.pipeline.config_feed import ConfigFeed
from custodywatch.pipeline.messages import FrameDetections
from custodywatch.pipeline.process import Component, heartbeat
from custodywatch.pipeline.store_report import StoreReporter
from custodywatch.rules.camera import CameraAnalyzer
from custodywatch.rules.engine import RoomCounts, RuleEngine
from custodywatch.rules.events import AlertEvent
from custodywatch.rules.person_boxes import PersonBox
from custodywatch.rules.posture import Posture

if TYPE_CHECKING:
    from custodywatch.store.alert_boxes import AlertBoxStore
    from custodywatch.store.alerts import AlertStore
    from custodywatch.store.maintenance import MaintenanceStore
    from custodywatch.store.rules_state import RulesStateStore

log = logging.getLogger("custodywatch.analytics")

SAVE_EVERY_S = 2.0
# The cameras' reference views (video_loss) change slowly and weigh a few kB each.
SAVE_REFERENCES_EVERY_S = 60.0
CUSTODY_POLL_S = 5.0
# Released records older than this no longer matter to a clock (the longest legal limit is 24 h).
CUSTODY_LOOKBACK_S = 2 * 86400.0
MAINTENANCE_LOOKBACK_S = 3600.0
# Room counts (the UI's room timeline) are kept as long as the recordings they describe.
PRUNE_COUNTS_EVERY_S = 3600.0
ENGINE_SCOPE = "engine"
REFERENCES_SCOPE = "references"
# Each camera's analysed frames (people and their roles) of this long beyond the role hysteresis,
# for the frame nearest a fire time: an alert is raised once the hysteresis has settled who was
# where, up to `roles.enter_s`/`exit_s` after the time it fires at.
RECENT_MARGIN_S = 10.0
SPOOL_NAME = "analytics-alerts.jsonl"
START_RETRY_S = (1.0, 10.0)  # first and longest wait between tries of an unanswering store at start
UNSAVED_COUNTS = 10_000
CONFIG_CHECK_S = 1.0  # how often a reloaded config is looked for


def camera_scope(camera: str) -> str:
    return f"camera/{camera}"


class LiveRules:
    """The rules of every room on the box's clock, with their state kept in the store."""

    def __init__(self, cfg: Config, alerts: AlertStore, state: RulesStateStore, now: float,
                 boxes: AlertBoxStore | None = None, maintenance: MaintenanceStore | None = None,
                 spool: Path | None = None):
        self.alerts = alerts
        self.state = state
        self.maintenance = maintenance  # cameras' maintenance windows, re-read with the custody records
        self.backlog = AlertBacklog(alerts.apply, spool=spool)
        self.boxes = boxes  # where an alert's snapshot boxes go; None: nowhere
        self._recent: dict[str, deque[tuple[float, list[PersonBox]]]] = {c.id: deque() for c in cfg.cameras}
        self._recent_s = max(cfg.roles.enter_s, cfg.roles.exit_s) + RECENT_MARGIN_S
        self.analyzers = {c.id: CameraAnalyzer(c, cfg.room(c.room).type, cfg.roles) for c in cfg.cameras}
        self.engine = RuleEngine(cfg)
        self._keep_counts_s = cfg.recorder.retention_days * 86400.0
        self._restore(now)
        self._last_save = self._last_custody = self._last_references = self._now = now
        self._unsaved_counts: list[RoomCounts] = []
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
        self._read_maintenance(now)

    def _read_maintenance(self, now: float) -> None:
        if self.maintenance is not None:
            # Windows that ended before the rules' horizon decide nothing any more.
            self.engine.set_maintenance(self.maintenance.windows(since=now - MAINTENANCE_LOOKBACK_S))

    def frame(self, msg: FrameDetections) -> None:
        analyzer = self.analyzers.get(msg.camera)
        if analyzer is None:
            return
        self.engine.observe_view(msg.camera, msg.wall, msg.view)
        blind = self.engine.sight_lost(msg.camera)
        self.engine.observe(analyzer.observe(msg.wall, msg.detections, msg.size, blind=blind))
        recent = self._recent[msg.camera]
        recent.append((msg.wall, analyzer.last_boxes))
        while recent[0][0] < msg.wall - self._recent_s:
            recent.popleft()
        # The guard's posture, where a pose model reads it (FrameDetections.posture, a Posture value).
        posture: str | None = getattr(msg, "posture", None)
        if posture is not None:
            self.engine.observe(analyzer.observe_posture(msg.wall, Posture(posture)))

    def tick(self, now: float) -> list[AlertEvent]:
        """Advance the rules to `now`; the events returned are stored already (they may include
        events of earlier ticks that waited out a store outage)."""
        self._now = now
        if not self.backlog.waiting(now) and now - self._last_custody >= CUSTODY_POLL_S:
            self._last_custody = now
            try:
                self.engine.set_custody(self.state.custody_records(open_since=now - CUSTODY_LOOKBACK_S))
                self._read_maintenance(now)
            except SQLAlchemyError as exc:
                # The custody clocks go on with the records known, maintenance windows known stay
                # in force. Marked as an outage so that the rest of this tick does not try the
                # store again: on a dead link each try may hang up to the connection's timeouts,
                # and their sum must stay within analytics' liveness limit.
                log.exception("custody records or maintenance windows not read")
                self.backlog.store_failed(now, exc)
        events = self.engine.advance(now)
        self.backlog.add(events)
        stored = self.backlog.flush(now)
        for event in stored:
            log.info("alert %s %s %s in %s (%s)", event.kind, event.rule.value, event.severity.value,
                     event.room, event.alert_id)
            if event.kind == "fired":
                self._store_boxes(event)
        if self.backlog.waiting(now):
            # Room counts wait in the engine; the state is saved once the alerts are stored.
            return stored
        self._store_counts(now)
        references = now - self._last_references >= SAVE_REFERENCES_EVERY_S
        if events or stored or references or now - self._last_save >= SAVE_EVERY_S:
            self.save(references)
            self._last_save = now
            if references:
                self._last_references = now
        return stored

    def save(self, references: bool = False) -> None:
        if len(self.backlog):
            # Saved, the state would say these alerts fired; unsaved, a restart raises them again.
            log.error("rule state not saved: %d alert events not yet stored", len(self.backlog))
            return
        states = {ENGINE_SCOPE: self.engine.state()}
        if references:
            states[REFERENCES_SCOPE] = self.engine.references()
        states.update({camera_scope(c): a.state() for c, a in self.analyzers.items()})
        try:
            self.state.save_state(states)
        except SQLAlchemyError as exc:  # a busy or unreachable store must not stop the rules: retried
            log.exception("rule state not saved")
            self.backlog.store_failed(self._now, exc)
        else:
            self.backlog.store_answered(self._now)

    def _store_boxes(self, event: AlertEvent) -> None:
        """The people of the alert camera's frame nearest the fire time, for its snapshot."""
        recent = self._recent.get(event.camera)
        if self.boxes is None or not recent:
            return
        at, boxes = min(recent, key=lambda frame: abs(frame[0] - event.at))
        try:
            self.boxes.save(event.alert_id, event.camera, at, boxes)
        except SQLAlchemyError:  # the snapshot is then drawn without boxes; the alert itself is stored
            log.exception("snapshot boxes of alert %s not stored", event.alert_id)

    def _store_counts(self, now: float) -> None:
        # Counts not stored in an outage are kept (a bounded few) for the next try.
        counts = (self._unsaved_counts + self.engine.room_counts())[-UNSAVED_COUNTS:]
        self._unsaved_counts = []
        try:
            self.state.add_room_counts(counts)
            if now - self._last_prune >= PRUNE_COUNTS_EVERY_S:
                self.state.forget_room_counts_before(now - self._keep_counts_s)
                self._last_prune = now
        except SQLAlchemyError as exc:
            log.exception("room counts not stored")
            self._unsaved_counts = counts
            self.backlog.store_failed(now, exc)
        else:
            self.backlog.store_answered(now)


def wait_for_store(start: Callable[[], LiveRules], stop: Event,
                   report: Callable[[float | None], None]) -> LiveRules | None:
    """The rules, once the store answers (their saved state is read from it); None if stopped first.
    `report` hears when the store has been unavailable since (epoch seconds) while it waits."""
    wait_s, longest_s = START_RETRY_S
    since = time.monotonic()
    unavailable_since: float | None = None
    while True:
        heartbeat()
        try:
            rules = start()
        except SQLAlchemyError as exc:
            if unavailable_since is None:
                unavailable_since = time.time()
            report(unavailable_since)
            reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
            log.error("store not answering at start (%s: %s); rules wait for it, next try in %.0f s",
                      type(exc).__name__, reason, wait_s)
            if stop.wait(wait_s):
                return None
            wait_s = min(2 * wait_s, longest_s)
            continue
        if time.monotonic() - since > 1.0:
            log.warning("store answered after %.0f s: rules started", time.monotonic() - since)
        return rules


def saved_for_reload(rules: LiveRules) -> bool:
    """Save the rules' state for a reload; False while it cannot be (alerts waiting for the store,
    or the save failed): the reload then waits, so no alert and no timer is lost to it."""
    if len(rules.backlog) or rules.backlog.in_outage:
        return False
    rules.save(references=True)
    return not rules.backlog.in_outage


@dataclass
class AnalyticsService(Component):
    config: Config
    database_url: str
    detections_endpoint: str
    events_endpoint: str
    name: str = "analytics"
    # Where the main process publishes a reloaded config (pipeline/config_feed.py); None: never.
    config_feed: str | None = None
    # Where alert events wait on disk while the store cannot take them; None: in memory only.
    spool_dir: str | None = None
    kind: ClassVar[str] = "analytics"
    stop_after: ClassVar[tuple[str, ...]] = ("detector",)

    def run(self, stop: Event) -> None:
        from custodywatch.store.alert_boxes import AlertBoxStore
        from custodywatch.store.alerts import AlertStore
        from custodywatch.store.db import make_engine
        from custodywatch.store.maintenance import MaintenanceStore
        from custodywatch.store.rules_state import RulesStateStore

        cfg = self.config
        db = make_engine(self.database_url)

        spool = None if self.spool_dir is None else Path(self.spool_dir) / SPOOL_NAME

        def live_rules(cfg: Config) -> LiveRules:
            return LiveRules(cfg, AlertStore(db, cfg.site.id, cfg.site.box_id), RulesStateStore(db),
                             time.time(), boxes=AlertBoxStore(db), maintenance=MaintenanceStore(db),
                             spool=spool)

        zctx = zmq.Context()
        pull = zctx.socket(zmq.PULL)
        pull.bind(self.detections_endpoint)
        pub = zctx.socket(zmq.PUB)
        pub.setsockopt(zmq.LINGER, 500)
        pub.connect(self.events_endpoint)  # the API binds: either side may restart
        reporter = StoreReporter(pub, "analytics")
        feed = None if self.config_feed is None else ConfigFeed(self.config_feed)
        pending: Config | None = None
        next_feed_check = 0.0
        try:
            started = wait_for_store(lambda: live_rules(cfg), stop,
                                     lambda since: reporter.update(spooled(spool), since, time.time()))
            if started is None:
                return
            rules = started
            while True:
                # Asked to stop once the detectors have exited: one last round takes in what they sent.
                stopping = stop.is_set()
                heartbeat()
                if pull.poll(0 if stopping else 200):
                    while True:
                        try:
                            msg: FrameDetections = pull.recv_pyobj(flags=zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        rules.frame(msg)
                # Committed before it is pushed: a crash in between loses no alert.
                now = time.time()
                for event in rules.tick(now):
                    pub.send_json({"type": "alert", "event": event.to_dict()})
                reporter.update(len(rules.backlog), rules.backlog.unavailable_since, now)
                if stopping:
                    break
                if feed is not None and time.monotonic() >= next_feed_check:
                    next_feed_check = time.monotonic() + CONFIG_CHECK_S
                    published = feed.latest()
                    if published is not None and published != cfg:
                        pending = published
                if pending is not None and saved_for_reload(rules):
                    # What a restart would do, without one: the state saved, then read back under
                    # the new zones and thresholds.
                    cfg, pending = pending, None
                    rules = live_rules(cfg)
                    log.info("config reloaded: zones and rule thresholds of %d cameras in %d rooms in force",
                             len(cfg.cameras), len(cfg.rooms))
            rules.save(references=True)
        finally:
            zctx.destroy(linger=500)
            db.dispose()
