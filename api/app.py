"""The API application factory (what `run` serves and what tests call)."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from custodywatch.api.deps import Services
from custodywatch.api.events import EventHub, ZmqEventBridge
from custodywatch.api.metrics import build_registry
from custodywatch.api.routers.alerts import router as alerts_router
from custodywatch.api.routers.events import router as events_router
from custodywatch.api.routers.health import router as health_router
from custodywatch.api.routers.metrics import router as metrics_router
from custodywatch.api.routers.pages import STATIC_DIR
from custodywatch.api.routers.pages import router as pages_router
from custodywatch.api.schemas import HealthReport
from custodywatch.pipeline.health import PipelineFigures
from custodywatch.store.alerts import AlertNotFound, AlertStore, InvalidTransition


def api_only_health() -> HealthReport:
    """The report when no supervisor reports: answering at all means the API process is alive."""
    return HealthReport(processes={"api": True})


def create_app(
    store: AlertStore,
    events: EventHub,
    health: Callable[[], HealthReport] | None = None,
    *,
    title: str = "custodywatch",
    bridge: ZmqEventBridge | None = None,
    pipeline: Callable[[], PipelineFigures] | None = None,
) -> FastAPI:
    """`bridge`, when given, runs for the app's lifetime on the server's event loop; `pipeline`
    gives the live per-camera figures for /metrics."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(events.close)
            if bridge is not None:
                await stack.enter_async_context(bridge.running())
            yield

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.services = Services(
        store=store,
        hub=events,
        health=health or api_only_health,
        metrics=build_registry(store, events, pipeline),
    )
    app.add_exception_handler(AlertNotFound, _not_found)
    app.add_exception_handler(InvalidTransition, _conflict)
    for router in (alerts_router, events_router, health_router, metrics_router, pages_router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)
