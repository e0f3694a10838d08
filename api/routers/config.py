"""The running config (admin only, read-only), with every credential in a URL redacted."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from custodywatch.api.auth import Admin
from custodywatch.api.deps import ServicesDep
from custodywatch.api.schemas import ErrorBody
from custodywatch.config import redact_url

router = APIRouter(prefix="/api/config", tags=["config"])

REDACTED = "***"


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (REDACTED if "password" in k or "secret" in k else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    return value


@router.get("", responses={404: {"model": ErrorBody, "description": "The box runs without a config."}})
def show_config(services: ServicesDep, _admin: Admin) -> dict[str, Any]:
    if services.config is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no config is loaded")
    result: dict[str, Any] = redact(services.config.model_dump(mode="json"))
    return result
