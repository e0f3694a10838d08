"""An alert's media (watch desk): its snapshot and its clip, as the recorder cut them.

The clip is served as a file with HTTP range requests, so a browser's player seeks in it. The
first clip exists seconds after the alert fires; the final one once the alert has ended; asking
without `kind` gives the most complete one there is. Each view is audited.
"""
from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from custodywatch.api.auth import WatchDesk
from custodywatch.api.deps import Services, ServicesDep
from custodywatch.api.media import data_dir, first_request, inside, not_found
from custodywatch.api.routers.alerts import NOT_FOUND

router = APIRouter(prefix="/api/alerts", tags=["clips"])


class ClipKind(StrEnum):
    FIRST = "first"
    FINAL = "final"


def _alert_folder(services: Services, alert_id: str) -> Path:
    services.store.get(alert_id)  # 404 for an unknown alert, before any path is built from its id
    return inside(data_dir(services) / "clips", alert_id)


@router.get("/{alert_id}/snapshot", response_class=FileResponse, responses=NOT_FOUND)
def alert_snapshot(services: ServicesDep, user: WatchDesk, alert_id: str) -> FileResponse:
    path = _alert_folder(services, alert_id) / "snapshot.jpg"
    if not path.is_file():
        raise not_found(f"alert {alert_id!r} has no snapshot yet")
    services.audit.append(user.username, "view_snapshot", alert_id)
    return FileResponse(path, media_type="image/jpeg")


@router.get("/{alert_id}/clip", response_class=FileResponse, responses=NOT_FOUND)
def alert_clip(
    services: ServicesDep, user: WatchDesk, request: Request, alert_id: str, kind: ClipKind | None = None
) -> FileResponse:
    folder = _alert_folder(services, alert_id)
    kinds = [kind] if kind is not None else [ClipKind.FINAL, ClipKind.FIRST]
    path = next((folder / f"{k}.mp4" for k in kinds if (folder / f"{k}.mp4").is_file()), None)
    if path is None:
        what = "clip" if kind is None else f"{kind.value} clip"
        raise not_found(f"alert {alert_id!r} has no {what} yet")
    if first_request(request):
        services.audit.append(user.username, "view_clip", alert_id, kind=path.stem)
    return FileResponse(path, media_type="video/mp4", filename=f"{alert_id}-{path.stem}.mp4",
                        content_disposition_type="inline")
