"""Alerts: list, read, acknowledge, resolve. Changes are announced on the live feed."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from custodywatch.api.deps import ActorDep, ServicesDep
from custodywatch.api.events import publish_alert
from custodywatch.api.schemas import AlertQuery, ErrorBody, ResolveRequest
from custodywatch.store.views import AlertChange, AlertPage, AlertView

router = APIRouter(prefix="/api/alerts", tags=["alerts"])

Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"model": ErrorBody, "description": "No such alert."}}
CONFLICT: Responses = {409: {"model": ErrorBody, "description": "The alert's state does not allow this."}}


@router.get("", response_model=AlertPage)
def list_alerts(services: ServicesDep, query: Annotated[AlertQuery, Query()]) -> AlertPage:
    return services.store.list(
        room=query.room, rule=query.rule, severity=query.severity, state=query.state, active=query.active,
        since=query.since, until=query.until, limit=query.limit, offset=query.offset,
    )


@router.get("/{alert_id}", response_model=AlertView, responses=NOT_FOUND)
def get_alert(services: ServicesDep, alert_id: str) -> AlertView:
    return services.store.get(alert_id)


# Async so the hub is published to from the event loop; the store call runs in the thread pool.
@router.post("/{alert_id}/acknowledge", response_model=AlertView, responses={**NOT_FOUND, **CONFLICT})
async def acknowledge_alert(services: ServicesDep, actor: ActorDep, alert_id: str) -> AlertView:
    alert = await run_in_threadpool(services.store.acknowledge, alert_id, actor)
    publish_alert(services.hub, AlertChange.ACKNOWLEDGED, alert)
    return alert


@router.post("/{alert_id}/resolve", response_model=AlertView, responses={**NOT_FOUND, **CONFLICT})
async def resolve_alert(
    services: ServicesDep, actor: ActorDep, alert_id: str, body: ResolveRequest
) -> AlertView:
    alert = await run_in_threadpool(
        lambda: services.store.resolve(alert_id, actor, body.comment, false_positive=body.false_positive)
    )
    publish_alert(services.hub, AlertChange.RESOLVED, alert)
    return alert
