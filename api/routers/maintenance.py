"""Cameras' maintenance windows: anyone logged in sees them; investigators and admins start and end
them. While one is open the camera raises no video_loss (the analytics process re-reads them every
few seconds). Every start and end is audited.
"""
from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from custodywatch.api.auth import Investigator, WatchDesk
from custodywatch.api.deps import Services, ServicesDep
from custodywatch.api.schemas import ErrorBody
from custodywatch.api.schemas_maintenance import MaintenanceStart, MaintenanceView
from custodywatch.store.maintenance import MaintenanceStore, WindowConflict, WindowNotFound, WindowTimes

router = APIRouter(prefix="/api/maintenance", tags=["maintenance"])

Responses = dict[int | str, dict[str, Any]]
RECENT_S = 24 * 3600


def _store(services: Services) -> MaintenanceStore:
    return MaintenanceStore(services.engine)


@router.get("", response_model=list[MaintenanceView])
def list_windows(services: ServicesDep, _user: WatchDesk,
                 camera: Annotated[str | None, Query(max_length=32)] = None) -> list[MaintenanceView]:
    """Open windows, windows to come and those that ended in the last 24 h, by start."""
    now = time.time()
    return [MaintenanceView.of(w, now) for w in _store(services).windows(now - RECENT_S, camera)]


@router.post("", response_model=MaintenanceView, status_code=status.HTTP_201_CREATED, responses={
    409: {"model": ErrorBody, "description": "The camera has a window open already."},
    422: {"model": ErrorBody, "description": "Unknown camera, or times that make no window."}})
def start_window(services: ServicesDep, user: Investigator, body: MaintenanceStart) -> MaintenanceView:
    if services.config is not None and body.camera not in {c.id for c in services.config.cameras}:
        known = ", ".join(c.id for c in services.config.cameras)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"camera: unknown camera {body.camera!r} (cameras: {known})")
    try:
        window = _store(services).start(body.camera, body.until.timestamp(), body.reason, user.username,
                                        None if body.start is None else body.start.timestamp())
    except WindowTimes as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except WindowConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    services.audit.append(user.username, "maintenance_start", window.camera, window=window.id,
                          reason=window.reason, start=window.start, until=window.until)
    return MaintenanceView.of(window, time.time())


@router.post("/{window_id}/end", response_model=MaintenanceView, responses={
    404: {"model": ErrorBody, "description": "No such window."},
    409: {"model": ErrorBody, "description": "The window has ended already."}})
def end_window(services: ServicesDep, user: Investigator, window_id: int) -> MaintenanceView:
    try:
        window = _store(services).end(window_id, user.username)
    except WindowNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except WindowConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    services.audit.append(user.username, "maintenance_end", window.camera, window=window.id,
                          ended_at=window.ended_at)
    return MaintenanceView.of(window, time.time())
