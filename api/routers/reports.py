"""GET /api/reports: the per-period report or the shift summary as CSV or PDF (investigators)."""
from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from starlette.concurrency import run_in_threadpool

from custodywatch.api.auth import Investigator
from custodywatch.api.deps import ServicesDep
from custodywatch.api.schemas import ErrorBody
from custodywatch.report import build_report
from custodywatch.report_commands import render, site_zone
from custodywatch.report_data import read_period
from custodywatch.store.views import UtcDatetime

router = APIRouter(prefix="/api/reports", tags=["reports"])

MEDIA = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}
MAX_PERIOD_S = 366 * 86400


@router.get("", response_class=Response, responses={
    200: {"content": {"text/csv": {}, "application/pdf": {}}, "description": "The report, as a download."},
    422: {"model": ErrorBody, "description": "A period that ends before it begins, or longer than a year."}})
async def report(
    services: ServicesDep, _user: Investigator,
    start: Annotated[UtcDatetime, Query(alias="from", description="Period start (ISO-8601 or epoch).")],
    end: Annotated[UtcDatetime, Query(alias="to", description="Period end.")],
    shift: Annotated[bool, Query(description="A shift summary: also what is unresolved at the end.")] = False,
    fmt: Annotated[Literal["csv", "pdf"], Query(alias="format")] = "csv",
) -> Response:
    t0, t1 = start.timestamp(), end.timestamp()
    if t1 <= t0:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "to: the period must end after it begins")
    if t1 - t0 > MAX_PERIOD_S:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "to: a report covers at most a year")
    cfg = services.config
    data = await run_in_threadpool(read_period, services.engine, t0, t1)
    built = build_report(data, shift=shift, custody=None if cfg is None else cfg.custody,
                         zone=site_zone(cfg), site="" if cfg is None else f"{cfg.site.id}/{cfg.site.box_id}",
                         generated_at=time.time())
    name = f"{'shift' if shift else 'report'}-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.{fmt}"
    return Response(render(built, fmt), media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
