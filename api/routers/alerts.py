"""Alerts: list, read, acknowledge, resolve (with a comment, or as a false positive). Changes are
announced on the live feed; reading one alert and every action are audited."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from custodywatch.api.auth import WatchDesk
from custodywatch.api.deps import ServicesDep
from custodywatch.api.events import push_alert_change
from custodywatch.api.schemas import AlertQuery, ErrorBody, ResolveRequest
from custodywatch.store.views import AlertChange, AlertPage, AlertView

router = APIRouter(prefix="/api/alerts", tags=["alerts"])

Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"model": ErrorBody, "description": "No such alert."}}
CONFLICT: Responses = {409: {"model": ErrorBody, "description": "The alert's state does not allow this."}}


@router.get("", response_model=AlertPage)
def list_alerts(services: ServicesDep, _user: WatchDesk, query: Annotated[AlertQuery, Query()]) -> AlertPage:
    return services.store.list(
        room=query.room, rule=query.rule, severity=query.severity, state=query.state, active=query.active,
        since=query.since, until=query.until, limit=query.limit, offset=query.offset,
        site=query.site, box=query.box,
    )


@router.get("/{alert_id}", response_model=AlertView, responses=NOT_FOUND)
def get_alert(services: ServicesDep, user: WatchDesk, alert_id: str) -> AlertView:
    alert = services.store.get(alert_id)
    services.audit.append(user.username, "view_alert", alert_id)
    return alert


# Async so the hub is published to from the event loop; the store calls run in the thread pool.
@router.post("/{alert_id}/acknowledge", response_model=AlertView, responses={**NOT_FOUND, **CONFLICT})
async def acknowledge_alert(services: ServicesDep, user: WatchDesk, alert_id: str) -> AlertView:
    alert = await run_in_threadpool(services.store.acknowledge, alert_id, user.username)
    await run_in_threadpool(services.audit.append, user.username, "acknowledge", alert_id)
    await push_alert_change(services.hub, services.store, AlertChange.ACKNOWLEDGED, alert)
    return alert


@router.post("/{alert_id}/resolve", response_model=AlertView, responses={**NOT_FOUND, **CONFLICT})
async def resolve_alert(
    services: ServicesDep, user: WatchDesk, alert_id: str, body: ResolveRequest
) -> AlertView:
    alert = await run_in_threadpool(lambda: services.store.resolve(
        alert_id, user.username, body.comment, false_positive=body.false_positive))
    await run_in_threadpool(lambda: services.audit.append(
        user.username, "resolve", alert_id, comment=alert.comment, false_positive=alert.false_positive))
    await push_alert_change(services.hub, services.store, AlertChange.RESOLVED, alert)
    return alert
