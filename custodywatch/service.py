"""`custodywatch run`: the live service as one process tree.

The main process owns everything: it migrates the store, starts the children through the
supervisor (recorder, analytics, detector workers, readers), serves the API with uvicorn, and on
SIGINT/SIGTERM stops uvicorn first and then the children in order.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from custodywatch import heap_release, memory_report, paths
from custodywatch.api.schemas import CameraHealth as CameraHealthView
from custodywatch.api.schemas import HealthReport
from custodywatch.api.server import ApiServer
from custodywatch.box_monitor import BoxHealthMonitor
from custodywatch.box_sampler import BoxSampler
from custodywatch.config import Config
from custodywatch.config_reload import ConfigReloader
from custodywatch.pipeline.analytics import AnalyticsService
from custodywatch.pipeline.config_feed import publish_config
from custodywatch.pipeline.detector_service import DetectorService
from custodywatch.pipeline.health import HealthCollector
from custodywatch.pipeline.process import Component
from custodywatch.pipeline.reader import CameraSource, ReaderGroup
from custodywatch.pipeline.shm import sweep_stale
from custodywatch.pipeline.supervisor import RestartPolicy, Supervisor
from custodywatch.recorder.service import recorder_service
from custodywatch.vocabulary import Zone

log = logging.getLogger("custodywatch.service")

CAMERAS_PER_READER = 8
# Children that apply a reloaded config themselves (zones, thresholds, cameras' recording).
LIVE_RELOAD = frozenset({"recorder", "analytics"})


def reader_groups(cfg: Config, frames: list[str], health: str, service_id: str) -> list[ReaderGroup]:
    sources = [CameraSource(c.id, c.detect_url, c.fps, worker=i % len(frames))
               for i, c in enumerate(cfg.cameras)]
    return [
        ReaderGroup(f"reader-{i // CAMERAS_PER_READER}", sources[i:i + CAMERAS_PER_READER], frames, health,
                    service_id, cfg.reader.open_timeout_s, cfg.reader.read_timeout_s)
        for i in range(0, len(sources), CAMERAS_PER_READER)
    ]


def restart_policy(cfg: Config) -> RestartPolicy:
    s = cfg.supervisor
    return RestartPolicy(budget=s.restart_budget, window_s=s.restart_window_s, start_grace_s=s.start_grace_s,
                         liveness_s={str(kind): limit for kind, limit in s.liveness_s.items()})


def guard_posts(cfg: Config) -> dict[str, list[tuple[float, float]]]:
    """Cameras watching a guard post (guard_asleep needs motion and posture there), with its polygon."""
    return {c.id: [(float(x), float(y)) for x, y in c.zones[Zone.GUARD_POST]]
            for c in cfg.cameras if Zone.GUARD_POST in c.zones}


class _Server(ApiServer):
    """The API server, leaving signals to us: uvicorn would re-raise SIGTERM after shutdown and
    kill the process before the children are stopped."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _ReadyAnnouncer(threading.Thread):
    """Prints the ready line once uvicorn listens (with the real port when 0 was asked)."""

    def __init__(self, server: uvicorn.Server, host: str, scheme: str = "http"):
        super().__init__(name="ready", daemon=True)
        self.server, self.host, self.scheme = server, host, scheme

    def run(self) -> None:
        while not self.server.started:
            if self.server.should_exit:
                return
            threading.Event().wait(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        print(f"custodywatch ready: {self.scheme}://{self.host}:{port}/", flush=True)


def run_service(cfg: Config, host: str | None = None, port: int | None = None,
                model_dir_flag: str | None = None, database_url_flag: str | None = None,
                config_path: Path | None = None) -> int:
    """`config_path`: the file `cfg` came from, reloaded on SIGHUP and by the zone editor's saves."""
    from custodywatch.api.app import create_app
    from custodywatch.api.escalation import Escalator
    from custodywatch.api.events import EventHub, ZmqEventBridge
    from custodywatch.api.forwarding_metrics import ForwardingCollector
    from custodywatch.api.mqtt_publisher import MqttPublisher, MqttSetupError
    from custodywatch.api.store_status import StoreStatus
    from custodywatch.forwarder import start_forwarding, with_forwarding
    from custodywatch.models.detector import ModelNotFoundError, resolve_model
    from custodywatch.store.accounts import AccountStore
    from custodywatch.store.alerts import AlertStore
    from custodywatch.store.feed import FeedJournal
    from custodywatch.store.revisions import DatabaseError, open_store

    host = host or cfg.api.host
    port = cfg.api.port if port is None else port
    model_dir = paths.model_dir(cfg.detector.model_dir, model_dir_flag)
    try:
        resolve_model(cfg.detector.model, model_dir)
    except ModelNotFoundError as exc:
        print(f"custodywatch: {exc}", file=sys.stderr)
        return 2
    try:
        mqtt = None if cfg.mqtt is None else MqttPublisher(cfg.mqtt, cfg.site.id, cfg.site.box_id)
    except MqttSetupError as exc:
        print(f"custodywatch: {exc}", file=sys.stderr)
        return 2
    paths.data_dir().mkdir(parents=True, exist_ok=True)
    db_url = paths.database_url(cfg.store.database_url, database_url_flag)
    memory_report.start_from_env("main")
    heap_release.start_from_env()
    removed = sweep_stale()
    if removed:
        log.info("removed %d stale shared-memory segments of a killed run", len(removed))
    try:
        db = open_store(db_url)
    except DatabaseError as exc:
        print(f"custodywatch: database {exc}", file=sys.stderr)
        return 2
    if AccountStore(db).user_count() == 0:
        log.warning("no accounts yet: nobody can log in; add one with "
                    "`custodywatch user add NAME --role admin`")

    run_dir = Path(tempfile.mkdtemp(prefix="custodywatch-"))
    ep = {name: f"ipc://{run_dir / name}" for name in ("detections", "events", "health")}
    frames = [f"ipc://{run_dir / f'frames-{i}'}" for i in range(cfg.detector.workers)]
    service_id = str(os.getpid())
    health = HealthCollector(ep["health"], [c.id for c in cfg.cameras])
    health.start()
    # The config in force, for the children that apply a reloaded one without a restart.
    config_feed = str(run_dir / "config.pickle")
    publish_config(config_feed, cfg)

    def components_for(cfg: Config) -> list[Component]:
        return [
            # Recording first and on its own: analysis slow or dead, recording goes on.
            recorder_service(cfg, db_url, ep["events"], config_feed=config_feed),
            AnalyticsService(cfg, db_url, ep["detections"], ep["events"], config_feed=config_feed,
                             spool_dir=str(paths.data_dir() / "spool")),
            *(DetectorService(cfg.detector, str(model_dir), endpoint, ep["detections"], ep["health"],
                              name=f"detector-{i}", guard_posts=guard_posts(cfg))
              for i, endpoint in enumerate(frames)),
            *reader_groups(cfg, frames, ep["health"], service_id),
        ]

    supervisor = Supervisor(components_for(cfg), restart_policy(cfg))
    reloader = None if config_path is None else ConfigReloader(config_path, cfg)
    store = AlertStore(db, cfg.site.id, cfg.site.box_id)
    # The feed's journal: numbering resumes, and changes committed but never pushed are pushed.
    hub = EventHub(journal=FeedJournal(db, cfg.site.box_id))
    store_status = StoreStatus()
    bridge = ZmqEventBridge(hub, store, ep["events"], on_store=store_status.update)
    escalator = (None if cfg.api.renotify_after_s is None
                 else Escalator(store, hub, cfg.api.renotify_after_s, cfg.api.escalate_to))
    archive = Path(cfg.recorder.archive_dir) if cfg.recorder.archive_dir else paths.data_dir() / "archive"
    forwarder = start_forwarding(cfg, db, health.cameras, paths.data_dir())
    box_health = BoxHealthMonitor(BoxSampler(archive, camera_drift=lambda: {
        cam: h.clock_drift_s for cam, h in health.cameras().items()}), cfg.health)
    box_health.start()

    def health_report() -> HealthReport:
        report = with_forwarding(_health_report(supervisor, health), forwarder)
        return report.model_copy(update={"store": store_status.report()})

    app = create_app(store, hub, health=health_report, engine=db, bridge=bridge,
                     pipeline=health.figures, config=cfg, archive_dir=archive,
                     data_dir=paths.data_dir(), escalator=escalator, mqtt=mqtt, box_health=box_health.report,
                     model_dir=model_dir, reloader=reloader)
    if reloader is not None:
        def apply_to_processes(new: Config) -> list[str]:
            publish_config(config_feed, new)  # before the swap: a child starting now reads it
            health.set_cameras([c.id for c in new.cameras])
            return supervisor.reconfigure(components_for(new), live=LIVE_RELOAD)

        reloader.on_reload(apply_to_processes)
    if forwarder is not None:
        app.state.services.metrics.register(ForwardingCollector(forwarder.status))
    # With a certificate the page is served over HTTPS only (and the session cookie becomes Secure).
    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                                    ssl_certfile=cfg.api.tls_cert, ssl_keyfile=cfg.api.tls_key), hub)

    def request_stop(signum: int, _frame: object) -> None:
        log.info("received %s", signal.Signals(signum).name)
        server.handle_exit(signum, None)

    def request_reload(_signum: int, _frame: object) -> None:
        # Not in the handler: a reload reads the file and may restart processes for seconds.
        if reloader is None:
            log.warning("SIGHUP ignored: the service was started without a config file to reload")
            return
        threading.Thread(target=reloader.reload, args=("SIGHUP",), name="config-reload", daemon=True).start()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, request_reload)
    supervisor.start()
    _ReadyAnnouncer(server, host, "https" if cfg.api.tls_cert else "http").start()
    try:
        server.run()
    finally:
        log.info("shutting down")
        supervisor.stop()
        if forwarder is not None:
            forwarder.stop()
        box_health.stop()
        health.stop()
        db.dispose()
        shutil.rmtree(run_dir, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _health_report(supervisor: Supervisor, health: HealthCollector) -> HealthReport:
    cameras = {
        cam: CameraHealthView(
            connected=h.connected, fps_in=h.fps_in, fps_analysed=h.fps_analysed, dropped=h.dropped,
            last_frame_at=None if h.last_frame_at is None else datetime.fromtimestamp(h.last_frame_at, UTC),
            reconnects=h.reconnects, corrupt_frames=h.corrupt,
        )
        for cam, h in health.cameras().items()
    }
    states = supervisor.states()
    return HealthReport(processes={"api": True, **{s.name: s.alive for s in states}}, cameras=cameras,
                        down=sorted(s.name for s in states if s.down),
                        restarts={s.name: s.restarts for s in states})
