"""The centre's own routes (watch desk): every box's status, custody boards, camera health, and an
alert's clip fetched from the box that recorded it.

They answer only on a server started by `custodywatch central`; a box answers 404. Clips stay on
the boxes: the centre fetches one on demand with its own account on the box (the box audits that
account) and audits who asked for it here.
"""
from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from custodywatch.api.auth import WatchDesk
from custodywatch.api.box_links import BoxDirectory, BoxUnreachable
from custodywatch.api.deps import Services, ServicesDep
from custodywatch.api.media import first_request, not_found
from custodywatch.api.routers.clips import ClipKind
from custodywatch.api.schemas import ErrorBody
from custodywatch.api.schemas_central import CentralBoxView, CentralCameraHealthView, CentralCustodyView
from custodywatch.store.central import CentralStore
from custodywatch.store.models import CentralCameraHealthRow
from custodywatch.store.views import UtcDatetime

router = APIRouter(prefix="/api/central", tags=["central"])

RECENT_S = 24 * 3600
# Four times a box's default health_interval_s: a box that missed that many reports is cut off.
STALE_AFTER_S = 120.0
Responses = dict[int | str, dict[str, Any]]
NOT_CENTRAL: Responses = {404: {"model": ErrorBody, "description": "Not a centre, or no such alert."}}


def _directory(request: Request) -> BoxDirectory:
    directory: BoxDirectory | None = getattr(request.app.state, "central_boxes", None)
    if directory is None:
        raise not_found("this server is a box, not a centre (start one with `custodywatch central`)")
    return directory


@router.get("/boxes", response_model=list[CentralBoxView], responses=NOT_CENTRAL)
def central_boxes(request: Request, services: ServicesDep, _user: WatchDesk) -> list[CentralBoxView]:
    """Every box configured or reporting in, with when it last reported."""
    directory = _directory(request)
    now = time.time()
    reporting = {(r.site_id, r.box_id): r for r in CentralStore(services.engine).boxes()}
    links = {(link.site, link.box): link for link in directory.links()}
    views = []
    for key in sorted(set(reporting) | set(links)):
        row, link = reporting.get(key), links.get(key)
        views.append(CentralBoxView(
            site_id=key[0], box_id=key[1], configured=link is not None,
            url=None if link is None else link.url,
            last_seq=None if row is None else row.last_seq,
            forwarded_at_epoch=None if row is None else row.forwarded_at,
            seconds_since_report=None if row is None else max(0.0, now - row.forwarded_at)))
    return views


@router.get("/custody", response_model=list[CentralCustodyView], responses=NOT_CENTRAL)
def central_custody(
    request: Request, services: ServicesDep, _user: WatchDesk, site: str | None = None,
    released_since: Annotated[UtcDatetime | None, Query(description="Also list records released since "
                                                               "then (default: the last 24 h).")] = None,
) -> list[CentralCustodyView]:
    _directory(request)
    since = released_since.timestamp() if released_since is not None else time.time() - RECENT_S
    return [CentralCustodyView.model_validate(r) for r in CentralStore(services.engine).custody(since, site)]


@router.get("/health", response_model=list[CentralCameraHealthView], responses=NOT_CENTRAL)
def central_health(
    request: Request, services: ServicesDep, _user: WatchDesk, site: str | None = None,
    stale_after_s: Annotated[float, Query(gt=0, le=7 * 86400, description=(
        "A camera whose box last reported its health longer ago than this is marked stale."))
    ] = STALE_AFTER_S,
) -> list[CentralCameraHealthView]:
    _directory(request)
    now = time.time()
    views = []
    for row in CentralStore(services.engine).camera_health(site):
        age = max(0.0, now - row.reported_at)
        columns = {c.key: getattr(row, c.key) for c in CentralCameraHealthRow.__table__.columns}
        views.append(CentralCameraHealthView.model_validate(
            {**columns, "seconds_since_report": age, "stale": age > stale_after_s}))
    return views


BOX_RESPONSES: Responses = {**NOT_CENTRAL,
                            502: {"model": ErrorBody, "description": "The box did not answer."}}


@router.get("/alerts/{alert_id}/clip", response_class=StreamingResponse, responses=BOX_RESPONSES)
async def central_clip(request: Request, services: ServicesDep, user: WatchDesk, alert_id: str,
                       kind: ClipKind | None = None) -> StreamingResponse:
    """The alert's clip, from the box that recorded it (range requests pass through)."""
    params = {} if kind is None else {"kind": kind.value}
    audited = "view_clip" if first_request(request) else None
    return await _from_box(request, services, user.username, alert_id, "clip", params, audited)


@router.get("/alerts/{alert_id}/snapshot", response_class=StreamingResponse, responses=BOX_RESPONSES)
async def central_snapshot(request: Request, services: ServicesDep, user: WatchDesk,
                           alert_id: str) -> StreamingResponse:
    """The alert's snapshot, from the box that recorded it."""
    return await _from_box(request, services, user.username, alert_id, "snapshot", {}, "view_snapshot")


async def _from_box(request: Request, services: Services, username: str, alert_id: str, media: str,
                    params: dict[str, str], audited: str | None) -> StreamingResponse:
    directory = _directory(request)
    alert = await run_in_threadpool(services.store.get, alert_id)  # 404 for an alert the centre lacks
    client = directory.client(alert.site_id, alert.box_id)
    if client is None:
        raise not_found(f"box {alert.site_id}/{alert.box_id} is not in the centre's boxes list, "
                        f"so its {media}s cannot be fetched")
    headers = {"range": request.headers["range"]} if "range" in request.headers else {}
    try:
        answer = await client.get(f"/api/alerts/{quote(alert_id, safe='')}/{media}", params, headers)
    except BoxUnreachable as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from None
    if answer.status >= 400:
        detail = (await answer.response.aread()).decode("utf-8", errors="replace")[:500]
        await answer.close()
        code = answer.status if answer.status in (404, 416) else status.HTTP_502_BAD_GATEWAY
        raise HTTPException(code, f"box {client.name} answered {answer.status}: {detail}")
    if audited is not None:
        await run_in_threadpool(services.audit.append, username, audited, alert_id, via="central",
                                site=alert.site_id, box=alert.box_id, **params)
    return StreamingResponse(answer.body, status_code=answer.status, headers=answer.headers,
                             background=BackgroundTask(answer.close))
