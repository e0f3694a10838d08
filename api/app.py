"""The API application factory (what `run` serves and what tests call)."""
from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from custodywatch import paths
from custodywatch.api.central_feed import CentralAlertFeed
from custodywatch.api.deps import Services
from custodywatch.api.escalation import Escalator
from custodywatch.api.events import EventHub, ZmqEventBridge, health_feed
from custodywatch.api.exports import ExportJobs
from custodywatch.api.metrics import build_registry
from custodywatch.api.mqtt_publisher import MqttPublisher
from custodywatch.api.reanalysis import ReanalysisJobs
from custodywatch.api.routers.alerts import router as alerts_router
from custodywatch.api.routers.audit import router as audit_router
from custodywatch.api.routers.auth import router as auth_router
from custodywatch.api.routers.box import router as box_router
from custodywatch.api.routers.cameras import router as cameras_router
from custodywatch.api.routers.central import router as central_router
from custodywatch.api.routers.clips import router as clips_router
from custodywatch.api.routers.config import router as config_router
from custodywatch.api.routers.custody import router as custody_router
from custodywatch.api.routers.escalations import router as escalations_router
from custodywatch.api.routers.events import router as events_router
from custodywatch.api.routers.exports import router as exports_router
from custodywatch.api.routers.health import router as health_router
from custodywatch.api.routers.holds import router as holds_router
from custodywatch.api.routers.maintenance import router as maintenance_router
from custodywatch.api.routers.metrics import router as metrics_router
from custodywatch.api.routers.pages import STATIC_DIR
from custodywatch.api.routers.pages import router as pages_router
from custodywatch.api.routers.reanalysis import router as reanalysis_router
from custodywatch.api.routers.recordings import router as recordings_router
from custodywatch.api.routers.reports import router as reports_router
from custodywatch.api.routers.rooms import router as rooms_router
from custodywatch.api.routers.users import router as users_router
from custodywatch.api.routers.zones import router as zones_router
from custodywatch.api.schemas import HealthReport
from custodywatch.api.schemas_box_health import BoxHealthReport
from custodywatch.api.throttle import LoginThrottle
from custodywatch.config import Config
from custodywatch.config_reload import ConfigReloader
from custodywatch.pipeline.health import PipelineFigures
from custodywatch.store.accounts import AccountStore, AuditLog
from custodywatch.store.alerts import AlertNotFound, AlertStore, InvalidTransition
from custodywatch.store.rules_state import RulesStateStore

ROUTERS = (auth_router, clips_router, alerts_router, events_router, cameras_router, custody_router,
           rooms_router, recordings_router, holds_router, exports_router, users_router, audit_router,
           config_router, box_router, escalations_router, maintenance_router, reports_router,
           reanalysis_router, central_router, zones_router, health_router, metrics_router, pages_router)


def api_only_health() -> HealthReport:
    """The report when no supervisor reports: answering at all means the API process is alive."""
    return HealthReport(processes={"api": True})


def create_app(
    store: AlertStore,
    events: EventHub,
    health: Callable[[], HealthReport] | None = None,
    *,
    engine: Engine,
    title: str = "custodywatch",
    bridge: ZmqEventBridge | None = None,
    pipeline: Callable[[], PipelineFigures] | None = None,
    config: Config | None = None,
    archive_dir: Path | None = None,
    data_dir: Path | None = None,
    throttle: LoginThrottle | None = None,
    escalator: Escalator | None = None,
    mqtt: MqttPublisher | None = None,
    box_health: Callable[[], BoxHealthReport | None] | None = None,
    model_dir: Path | None = None,
    reloader: ConfigReloader | None = None,
    central_feed: CentralAlertFeed | None = None,
) -> FastAPI:
    """`engine` is the store's database (accounts, audit, custody); `bridge`, when given, runs for
    the app's lifetime on the server's event loop; `pipeline` gives the live per-camera figures for
    /metrics; `config` names the rooms, cameras and custody limits; `data_dir` holds the recorder's
    clips and keys, and `archive_dir` its archive (default `data_dir/archive`); `escalator`
    re-announces unacknowledged alerts; `mqtt` publishes alerts and camera health to a broker;
    `box_health` gives the box's own latest health report (/healthz, /metrics, the live feed);
    `model_dir` holds the model files re-analyses load (default as `run` finds them); `reloader`
    reloads the config file the service was started with (the zone editor saves into that file),
    and the API serves each reloaded config from then on; `central_feed`, at a centre, pushes the
    alerts the boxes forward."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(events.close)
            if services.reanalysis is not None:
                stack.callback(services.reanalysis.close)
            if mqtt is not None:
                # First in, last out: it hears every alert the bridge relays until the bridge stops.
                await stack.enter_async_context(mqtt.running(events, services.health))
            if bridge is not None:
                await stack.enter_async_context(bridge.running())
            if central_feed is not None:
                await stack.enter_async_context(central_feed.running())
            await stack.enter_async_context(health_feed(events, services.health))
            if escalator is not None:
                await stack.enter_async_context(escalator.running())
            yield

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.services = services = Services(
        store=store,
        engine=engine,
        hub=events,
        health=_with_config_reload(_with_box_health(health or api_only_health, box_health), reloader),
        metrics=build_registry(store, events, pipeline, mqtt, box_health, health or api_only_health),
        accounts=AccountStore(engine),
        audit=AuditLog(engine),
        throttle=throttle or LoginThrottle(),
        rules_state=RulesStateStore(engine),
        exports=ExportJobs(engine),
        config=config,
        archive_dir=archive_dir if archive_dir is not None or data_dir is None else data_dir / "archive",
        data_dir=data_dir,
        escalator=escalator,
        reanalysis=ReanalysisJobs(engine, model_dir or paths.model_dir(
            None if config is None else config.detector.model_dir)),
        reloader=reloader,
    )
    if reloader is not None:
        def serve_reloaded(cfg: Config) -> list[str]:
            app.state.services = dataclasses.replace(app.state.services, config=cfg)
            return []

        reloader.on_reload(serve_reloaded)
    app.add_exception_handler(AlertNotFound, _not_found)
    app.add_exception_handler(InvalidTransition, _conflict)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _with_box_health(health: Callable[[], HealthReport],
                     box: Callable[[], BoxHealthReport | None] | None) -> Callable[[], HealthReport]:
    if box is None:
        return health

    def report() -> HealthReport:
        return health().model_copy(update={"box": box()})

    return report


def _with_config_reload(health: Callable[[], HealthReport],
                        reloader: ConfigReloader | None) -> Callable[[], HealthReport]:
    if reloader is None:
        return health

    def report() -> HealthReport:
        return health().model_copy(update={"config": reloader.last()})

    return report


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)
