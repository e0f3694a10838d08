"""GET /healthz: 200 while every service process is alive, 503 otherwise; always the full report."""
from __future__ import annotations

from fastapi import APIRouter, Response, status
from starlette.concurrency import run_in_threadpool

from custodywatch.api.deps import ServicesDep
from custodywatch.api.schemas import HealthReport

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=HealthReport,
    responses={503: {"model": HealthReport, "description": "A service process is not alive."}},
)
async def health(services: ServicesDep, response: Response) -> HealthReport:
    report = await run_in_threadpool(services.health)
    if not report.healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return report
