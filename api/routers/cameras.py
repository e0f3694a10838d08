"""Cameras (watch desk): each configured camera, its room, and its reader's health now."""
from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from custodywatch.api.auth import WatchDesk
from custodywatch.api.deps import ServicesDep
from custodywatch.api.schemas_custody import CameraStatus

router = APIRouter(prefix="/api/cameras", tags=["cameras"])


@router.get("", response_model=list[CameraStatus])
async def list_cameras(services: ServicesDep, _user: WatchDesk) -> list[CameraStatus]:
    report = await run_in_threadpool(services.health)
    if services.config is None:
        return [CameraStatus(id=cam, health=h) for cam, h in sorted(report.cameras.items())]
    # From the config, so a camera that never connected is listed too (as the one to look at).
    return [CameraStatus(id=c.id, room=c.room, name=c.name, health=report.cameras.get(c.id))
            for c in services.config.cameras]
