"""Cameras (watch desk): each configured camera, its room and its reader's health now, and the
live view of its room (MJPEG)."""
from __future__ import annotations

from collections.abc import AsyncIterator, Generator

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from custodywatch.api.auth import WatchDesk
from custodywatch.api.deps import Services, ServicesDep
from custodywatch.api.live import BOUNDARY, LiveViewError, mjpeg_parts
from custodywatch.api.media import not_found
from custodywatch.api.schemas import ErrorBody
from custodywatch.api.schemas_custody import CameraStatus

router = APIRouter(prefix="/api/cameras", tags=["cameras"])

LIVE_FPS = 5.0


@router.get("", response_model=list[CameraStatus])
async def list_cameras(services: ServicesDep, _user: WatchDesk) -> list[CameraStatus]:
    report = await run_in_threadpool(services.health)
    if services.config is None:
        return [CameraStatus(id=cam, health=h) for cam, h in sorted(report.cameras.items())]
    # From the config, so a camera that never connected is listed too (as the one to look at).
    return [CameraStatus(id=c.id, room=c.room, name=c.name, health=report.cameras.get(c.id))
            for c in services.config.cameras]


@router.get("/{camera}/live", response_class=StreamingResponse,
            responses={404: {"model": ErrorBody}, 502: {"model": ErrorBody}})
async def live_view(services: ServicesDep, user: WatchDesk, camera: str) -> StreamingResponse:
    """The room now, as multipart/x-mixed-replace JPEGs (an <img src> plays it)."""
    cameras = {} if services.config is None else {c.id: c.detect_url for c in services.config.cameras}
    if camera not in cameras:
        raise not_found(f"no camera {camera!r}")
    parts = mjpeg_parts(cameras[camera], LIVE_FPS)
    try:
        first = await run_in_threadpool(next, parts, None)
    except LiveViewError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from exc
    if first is None:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, "the camera sent no picture")
    await run_in_threadpool(services.audit.append, user.username, "view_live", camera)
    return StreamingResponse(_relay(services, first, parts),
                             media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                             headers={"Cache-Control": "no-store"})


async def _relay(
    services: Services, first: bytes, parts: Generator[bytes, None, None]
) -> AsyncIterator[bytes]:
    # Closing the generator closes the camera connection, whether the viewer left or the server stops.
    try:
        yield first
        while not services.hub.closed:
            part = await run_in_threadpool(next, parts, None)
            if part is None:
                return
            yield part
    finally:
        parts.close()
