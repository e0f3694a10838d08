"""The recorder process of the live service: every camera's main stream, recorded, whatever
analysis does.

One process, one thread per camera (threads measured cheap enough: the work is I/O and remuxing,
and PyAV releases the GIL while it reads; see docs/performance.md "Recorder"). The process's main
loop does the housekeeping: mirror new index records into the database, sign the chain heads,
apply retention, cut alert clips, and turn a long recording loss into a `video_loss` alert.
The database is optional: without it the archive and its index are complete on their own.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from custodywatch.config import Config, RecorderConfig
from custodywatch.pipeline.config_feed import ConfigFeed
from custodywatch.pipeline.process import Component, start_heartbeat_thread
from custodywatch.pipeline.store_report import StoreReporter
from custodywatch.recorder.camera import CameraStats
from custodywatch.recorder.camera_threads import CameraThreads
from custodywatch.recorder.index import ArchiveIndex, GapCause, GapRecord, SegmentRecord
from custodywatch.recorder.signing import ChainSigner
from custodywatch.rules.events import AlertEvent
from custodywatch.vocabulary import RuleId, Severity

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from custodywatch.pipeline.alert_backlog import AlertBacklog
    from custodywatch.recorder.retention import ProtectedFn, RetentionRules

log = logging.getLogger("custodywatch.recorder")

DEFAULT_LOSS_AFTER_S = 20.0  # design.md: video_loss after 20 s
GB = 1024**3
# An unmet disk quota is announced when it starts, then again at most this often while it lasts:
# a reminder, not a sound every retention run.
QUOTA_REMINDER_S = 3600.0


@dataclass(frozen=True)
class RecordedCamera:
    id: str
    url: str  # record_url, or detect_url when the camera has no separate main stream
    room: str
    loss_after_s: float = DEFAULT_LOSS_AFTER_S


def recorded_cameras(cfg: Config) -> list[RecordedCamera]:
    out = []
    for cam in cfg.cameras:
        override = cfg.room(cam.room).rules.get(RuleId.VIDEO_LOSS)
        after = override.after_s if override is not None and override.after_s is not None else None
        out.append(RecordedCamera(cam.id, cam.record_url or cam.detect_url, cam.room,
                                  DEFAULT_LOSS_AFTER_S if after is None else after))
    return out


def recorder_service(cfg: Config, database_url: str | None, events_endpoint: str | None = None,
                     start_cause: GapCause = GapCause.RECORDER_RESTART,
                     config_feed: str | None = None) -> RecorderService:
    """The recorder component for `custodywatch run`: every camera, the config's recorder settings,
    the archive in `recorder.archive_dir` (default `$CUSTODYWATCH_DATA/archive`); a config published
    at `config_feed` (pipeline/config_feed.py) is applied without stopping unchanged cameras."""
    from custodywatch import paths

    archive = cfg.recorder.archive_dir or str(paths.data_dir() / "archive")
    return RecorderService(recorded_cameras(cfg), archive, cfg.recorder, database_url, events_endpoint,
                           str(paths.data_dir()), start_cause, cfg.site.id, cfg.site.box_id,
                           config_feed=config_feed)


STATE_NAME = "recorder-state.json"


def start_causes(index: ArchiveIndex, cameras: list[RecordedCamera], segment_s: float,
                 default: GapCause) -> dict[str, GapCause]:
    """Why each camera was not recorded since the last run: `config_change` when its recording
    settings (URL, segment length) differ from the last run's, else `default`. The settings are
    kept as salted hashes in the archive, so no camera credential is written there."""
    path = index.archive / STATE_NAME
    try:
        previous: dict[str, str] = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        previous = {}

    def fingerprint(cam: RecordedCamera) -> str:
        return hashlib.sha256(f"{index.id}|{cam.url}|{segment_s:g}".encode()).hexdigest()

    now = {cam.id: fingerprint(cam) for cam in cameras}
    causes = {cam: GapCause.CONFIG_CHANGE if cam in previous and previous[cam] != fp else default
              for cam, fp in now.items()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**previous, **now}, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return causes


def footage_protection(engine: Engine | None, settings: RecorderConfig,
                       rules: RetentionRules) -> ProtectedFn:
    """What retention must keep: active holds, alerts with their rolls, and custody records (open
    ones, and released ones within their retention period since the release). Without the database
    none of these can be checked, so everything is protected: nothing is deleted by age or quota."""
    from custodywatch.recorder.catalog import Interval, RecorderCatalog
    from custodywatch.recorder.custody import custody_protection

    catalog = None if engine is None else RecorderCatalog(engine)

    def protected(start: float, end: float) -> list[Interval]:
        if engine is None or catalog is None:
            return [Interval(start, end, None, "no database: holds, alerts and custody records unknown")]
        # Retention asks over [0, now]: `end` is its clock's now, also the end of an open custody.
        return [*catalog.protected(start, end, settings.pre_roll_s, settings.post_roll_s, rules.camera_rooms),
                *custody_protection(engine, end, rules.camera_rooms, rules.max_age_s)]

    return protected


class _Listener:
    """Collects what camera threads report, for the main loop to act on (one DB writer)."""

    def __init__(self) -> None:
        self.records: queue.SimpleQueue[SegmentRecord | GapRecord] = queue.SimpleQueue()
        self.alerts: queue.SimpleQueue[AlertEvent] = queue.SimpleQueue()
        self.rooms: dict[str, str] = {}
        self.loss_after: dict[str, float] = {}

    def record_appended(self, record: SegmentRecord | GapRecord) -> None:
        self.records.put(record)

    def _event(self, kind: str, camera: str, since: float, at: float) -> AlertEvent:
        return AlertEvent(
            kind="fired" if kind == "fired" else "ended", alert_id=f"rec-{camera}-{int(since * 1000)}",
            rule=RuleId.VIDEO_LOSS, room=self.rooms[camera], camera=camera, severity=Severity.ALARM,
            condition_started_at=since, at=at, detail="recording lost: no data from the camera's main stream")

    def loss_started(self, camera: str, since: float) -> None:
        self.alerts.put(self._event("fired", camera, since, since + self.loss_after[camera]))

    def loss_ended(self, camera: str, since: float, until: float) -> None:
        self.alerts.put(self._event("ended", camera, since, until))


@dataclass
class RecorderService(Component):
    """Constructor arguments are plain values (the component crosses a spawn)."""

    cameras: list[RecordedCamera]
    archive_dir: str
    settings: RecorderConfig = field(default_factory=RecorderConfig)
    database_url: str | None = None
    events_endpoint: str | None = None  # where alert events are published (the API's PUB endpoint)
    data_dir: str | None = None  # keys, signatures, clips (default $CUSTODYWATCH_DATA)
    # Why nothing was recorded since the last run: pass CONFIG_CHANGE when restarting for a new config.
    start_cause: GapCause = GapCause.RECORDER_RESTART
    site_id: str = "site"
    box_id: str = "box1"
    name: str = "recorder"
    config_feed: str | None = None  # where a reloaded config is published; None: never
    kind: ClassVar[str] = "recorder"

    def run(self, stop: Event) -> None:
        from custodywatch import paths
        from custodywatch.recorder.recovery import recover_camera
        from custodywatch.recorder.signing import heads_path, load_or_create_key

        # Recording runs in the camera threads; housekeeping on this thread may take long (retention,
        # clips, recovery) without recording being stuck, so liveness is the process's, not the loop's.
        start_heartbeat_thread()
        data = Path(self.data_dir) if self.data_dir else paths.data_dir()
        index = ArchiveIndex(Path(self.archive_dir))
        for cam in self.cameras:
            recover_camera(index, cam.id)
        key = load_or_create_key(data / "keys")
        signer = ChainSigner(index, key, data / "signatures" / heads_path(index.id).name)
        listener = _Listener()
        listener.rooms = {c.id: c.room for c in self.cameras}
        listener.loss_after = {c.id: c.loss_after_s for c in self.cameras}
        causes = start_causes(index, self.cameras, self.settings.segment_s, self.start_cause)
        threads = CameraThreads(index, listener, self.settings.segment_s)
        for cam in self.cameras:
            threads.start(cam, causes[cam.id])
        house = _Housekeeping(self, index, signer, listener, data)
        feed = None if self.config_feed is None else ConfigFeed(self.config_feed)
        try:
            while not stop.wait(1.0):
                if feed is not None:
                    self._reload(feed, index, threads, listener, house)
                house.tick(time.time(), threads.stats())
        finally:
            threads.stop_all()
            house.tick(time.time(), threads.stats(), final=True)
            house.close()

    def _reload(self, feed: ConfigFeed, index: ArchiveIndex, threads: CameraThreads, listener: _Listener,
                house: _Housekeeping) -> None:
        cfg = feed.latest()
        if cfg is None:
            return
        cameras = recorded_cameras(cfg)
        if cameras == self.cameras and cfg.recorder == self.settings:
            return
        # Housekeeping (retention, clips) takes the new settings as they are (the main process keeps
        # `archive_dir` as it was until a restart).
        self.settings = house.settings = cfg.recorder
        self.cameras = cameras
        listener.rooms.update({c.id: c.room for c in cameras})
        listener.loss_after.update({c.id: c.loss_after_s for c in cameras})
        start_causes(index, cameras, cfg.recorder.segment_s, GapCause.CONFIG_CHANGE)  # the new fingerprints
        threads.reconfigure(cameras, cfg.recorder.segment_s)


class _Housekeeping:
    def __init__(self, svc: RecorderService, index: ArchiveIndex, signer: ChainSigner, listener: _Listener,
                 data: Path):
        self.svc, self.index, self.signer, self.listener = svc, index, signer, listener
        self.settings = svc.settings
        self.data = data
        self.next_sign = 0.0
        self.next_retention = time.time() + 5.0
        self.quota_announced_at: float | None = None  # while the quota cannot be met
        self.engine = None
        self.catalog = None
        self.alerts = None
        self.backlog: AlertBacklog | None = None
        self.clipper = None
        self.zctx = None
        self.pub = None
        self.store_reporter: StoreReporter | None = None
        if svc.database_url:
            from custodywatch.pipeline.alert_backlog import AlertBacklog
            from custodywatch.recorder.alert_clips import AlertClipper
            from custodywatch.recorder.catalog import RecorderCatalog
            from custodywatch.store.alerts import AlertStore
            from custodywatch.store.db import make_engine

            self.engine = make_engine(svc.database_url)
            self.catalog = RecorderCatalog(self.engine)
            self.catalog.catch_up(index)  # what the index got while the database was not written
            self.alerts = AlertStore(self.engine, svc.site_id, svc.box_id)
            self.backlog = AlertBacklog(self.alerts.apply, spool=data / "spool" / "recorder-alerts.jsonl")
            self.clipper = AlertClipper(self.engine, index, data / "clips", self.settings)
        if svc.events_endpoint:
            import zmq

            self.zctx = zmq.Context()
            self.pub = self.zctx.socket(zmq.PUB)
            self.pub.setsockopt(zmq.LINGER, 500)
            self.pub.connect(svc.events_endpoint)
            self.store_reporter = StoreReporter(self.pub, "recorder")

    def tick(self, now: float, stats: list[CameraStats], final: bool = False) -> None:
        self._mirror()
        self._alerts()
        if final or now >= self.next_sign:
            self.signer.sign_now(now)
            self.next_sign = now + self.settings.sign_interval_s
        if final:
            return
        if now >= self.next_retention:
            self._retention()
            self.next_retention = now + self.settings.retention_interval_s
        if self.clipper is not None:
            try:
                self.clipper.poll(now)
            except Exception:  # noqa: BLE001 - a failed clip must never stop recording
                log.exception("alert clips failed")

    def _mirror(self) -> None:
        pending = []
        while True:
            try:
                pending.append(self.listener.records.get_nowait())
            except queue.Empty:
                break
        if pending and self.catalog is not None:
            try:
                self.catalog.mirror(self.index.id, pending)
            except Exception:  # noqa: BLE001 - the index has them; the mirror catches up at restart
                log.exception("index records not mirrored into the database")

    def _alerts(self) -> None:
        events = []
        while True:
            try:
                events.append(self.listener.alerts.get_nowait())
            except queue.Empty:
                break
        for event in events:
            log.warning("video_loss %s for %s (recording)", event.kind, event.camera)
        if self.backlog is None:
            stored = events
        else:
            # A store that is down keeps these waiting, in order, instead of stopping the recorder.
            self.backlog.add(events)
            stored = self.backlog.flush(time.time())
        if self.pub is not None:
            for event in stored:
                self.pub.send_json({"type": "alert", "event": event.to_dict()})
            if self.backlog is not None and self.store_reporter is not None:
                self.store_reporter.update(len(self.backlog), self.backlog.unavailable_since, time.time())

    def _retention(self) -> None:
        from custodywatch.recorder.catalog import CatalogSegments
        from custodywatch.recorder.retention import Deleted, RetentionPolicy, RetentionRules

        s = self.settings
        rooms = {c.id: c.room for c in self.svc.cameras}
        rules = RetentionRules(
            max_age_days=s.retention_days,
            by_camera_days={k: float(v) for k, v in s.retention_days_by_camera.items()},
            by_room_days={k: float(v) for k, v in s.retention_days_by_room.items()}, camera_rooms=rooms,
            quota_bytes=int(s.quota_gb * GB) if s.quota_gb else None)
        catalog = self.catalog
        protected = footage_protection(self.engine, s, rules)

        def audit(d: Deleted) -> None:
            if catalog is not None:
                catalog.audit("segment_deleted", d.reason, camera=d.camera, subject=d.path)

        segments = None if self.engine is None else CatalogSegments(self.engine, self.index.id)
        try:
            result = RetentionPolicy(self.index, rules, protected, audit, segments=segments).run()
        except Exception:  # noqa: BLE001 - retention failing must not stop recording
            log.exception("retention failed")
            return
        if catalog is not None and result.records:
            try:
                catalog.mirror(self.index.id, result.records)
            except Exception:  # noqa: BLE001 - the index has them; the mirror catches up at restart
                log.exception("retention records not mirrored into the database")
        if self.clipper is not None:
            longest = max([s.retention_days, *s.retention_days_by_room.values(),
                           *s.retention_days_by_camera.values()])
            self.clipper.prune(time.time(), longest * 86400.0)
        now = time.time()
        if result.alarm is None:
            if self.quota_announced_at is not None:
                log.info("disk quota met again")
                self.quota_announced_at = None
            return
        if self.quota_announced_at is not None and now - self.quota_announced_at < QUOTA_REMINDER_S:
            return
        self.quota_announced_at = now
        if catalog is not None:
            try:
                catalog.audit("quota_alarm", result.alarm)
            except Exception:  # noqa: BLE001 - the alarm still goes to the page below
                log.exception("quota alarm not written to the audit log")
        if self.pub is not None:
            self.pub.send_json({"type": "recorder_alarm", "message": result.alarm, "at": now})

    def close(self) -> None:
        if self.zctx is not None:
            self.zctx.destroy(linger=500)
        if self.engine is not None:
            self.engine.dispose()
