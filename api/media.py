"""Where the API finds recorded media on disk, refusing anything that would leave its folder."""
from __future__ import annotations

import re
from pathlib import Path

from fastapi import HTTPException, Request, status

from custodywatch.api.deps import Services

CAMERA_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def not_found(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail)


def inside(folder: Path, *parts: str) -> Path:
    """folder/parts, or 404 when the parts climb out of folder (`..`, an absolute path, a link)."""
    base = folder.resolve()
    path = base.joinpath(*parts).resolve()
    if not path.is_relative_to(base) or path == base:
        raise not_found("no such file")
    return path


def first_request(request: Request) -> bool:
    """Whether this is a viewer's first request for a file, not a seek within it: a player asks
    for many ranges of one file, and one viewing is one audit entry."""
    wanted = request.headers.get("range")
    return wanted is None or wanted.replace(" ", "").startswith("bytes=0-")


def data_dir(services: Services) -> Path:
    if services.data_dir is None:
        raise not_found("this box keeps no recordings")
    return services.data_dir


def archive_dir(services: Services) -> Path:
    if services.archive_dir is None or not (services.archive_dir / "index.jsonl").is_file():
        raise not_found("nothing has been recorded yet")
    return services.archive_dir


def check_camera(services: Services, camera: str) -> str:
    if not CAMERA_ID.fullmatch(camera):
        raise not_found(f"no camera {camera!r}")
    if services.config is not None and camera not in {c.id for c in services.config.cameras}:
        raise not_found(f"no camera {camera!r}")
    return camera
