"""The zone editor (admin): a camera's picture now, its zones, and saving new ones into the config
file the service runs on, validated as the config is, then reloaded without a restart."""
from __future__ import annotations

import threading
from pathlib import Path

import cv2
from fastapi import APIRouter, HTTPException, Response, status

from custodywatch.api.auth import Admin
from custodywatch.api.deps import Services, ServicesDep
from custodywatch.api.media import not_found
from custodywatch.api.schemas import ErrorBody
from custodywatch.api.schemas_config import CameraZones, ZoneProblem, ZonesSaved, ZonesUpdate
from custodywatch.config import CameraConfig, Config, ConfigError, load_config
from custodywatch.config_edit import ConfigFileInvalid, ZoneEditError, edit_zones, write_config_file
from custodywatch.pipeline.snapshot import grab_frame
from custodywatch.pipeline.source import SourceError
from custodywatch.vocabulary import ROLE_ZONES, ROOM_ZONES

router = APIRouter(prefix="/api/zones", tags=["zones"])

FRAME_TIMEOUT_S = 10.0
JPEG_QUALITY = 85
# One save at a time: each reads the file, edits it and writes it back.
_SAVING = threading.Lock()


def _problems(exc: ZoneEditError | ConfigError) -> list[dict[str, object]]:
    return [ZoneProblem(path=p.path, line=p.line, message=p.message).model_dump() for p in exc.problems]


def _file_config(services: Services) -> Config:
    """What the file says now (what the editor edits); the running config without a file."""
    if services.reloader is None:
        if services.config is None:
            raise not_found("no config is loaded")
        return services.config
    try:
        return load_config(services.reloader.path)
    except ConfigError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, _problems(exc)) from None


def _camera(cfg: Config, camera: str) -> CameraConfig:
    found = next((c for c in cfg.cameras if c.id == camera), None)
    if found is None:
        raise not_found(f"no camera {camera!r}")
    return found


@router.get("/{camera}", response_model=CameraZones,
            responses={404: {"model": ErrorBody}, 409: {"description": "The config file is not valid now."}})
def camera_zones(services: ServicesDep, _admin: Admin, camera: str) -> CameraZones:
    cfg = _file_config(services)
    cam = _camera(cfg, camera)
    room_type = cfg.room(cam.room).type
    return CameraZones(camera=cam.id, room=cam.room, room_type=room_type.value,
                       allowed=sorted(z.value for z in ROOM_ZONES[room_type]),
                       required=sorted(z.value for z in ROLE_ZONES[room_type].values()),
                       zones={z.value: [[x, y] for x, y in poly] for z, poly in cam.zones.items()})


@router.get("/{camera}/frame", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}}, 404: {"model": ErrorBody},
                       502: {"model": ErrorBody}})
def camera_frame(services: ServicesDep, _admin: Admin, camera: str) -> Response:
    """One picture of the camera's analysed stream now, as the zones are drawn on."""
    if services.config is None:
        raise not_found("no config is loaded")
    cam = _camera(services.config, camera)
    try:
        image = grab_frame(cam, FRAME_TIMEOUT_S)
    except SourceError as exc:  # its message names the camera, never the URL
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from None
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"{camera}: the picture could not be encoded")
    return Response(jpeg.tobytes(), media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.put("/{camera}", response_model=ZonesSaved, responses={
    404: {"model": ErrorBody},
    409: {"description": "The service has no config file, or the file is not valid now."},
    500: {"model": ErrorBody, "description": "The config file's folder cannot be written."},
    422: {"description": "The zones break a rule of the config: each problem with its key path."}})
def save_zones(services: ServicesDep, admin: Admin, camera: str, body: ZonesUpdate) -> ZonesSaved:
    """Write the camera's zones into the config file (the old file kept as a backup) and reload."""
    reloader = services.reloader
    if reloader is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "the service runs without a config file to save into")
    with _SAVING:
        path = reloader.path
        text = _read(path)
        try:
            edit = edit_zones(text, camera, body.zones, str(path))
        except ConfigFileInvalid as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, _problems(exc)) from None
        except ZoneEditError as exc:
            if camera not in {c.id for c in _file_config(services).cameras}:
                raise not_found(f"no camera {camera!r}") from None
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, _problems(exc)) from None
        try:
            backup = write_config_file(path, edit.text)
        except OSError as exc:  # the file stays as it was (the edit is written aside, then renamed)
            raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR,
                                f"{path}: cannot write the config file or its backup beside it: "
                                f"{exc.strerror or exc}") from None
        saved = {z.value: [[x, y] for x, y in poly] for z, poly in edit.config.camera(camera).zones.items()}
        services.audit.append(admin.username, "zones_saved", camera, file=str(path), backup=backup.name,
                              zones=saved)
        report = reloader.reload(f"zones saved by {admin.username}")
    return ZonesSaved(camera=camera, zones=saved, backup=backup.name, reload=report)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{path}: cannot read the config file: {exc}") from None
