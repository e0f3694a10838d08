"""What a hold request covers: a range on cameras as given, or the range and cameras of a custody
record or an alert, worked out on the box the way `custodywatch hold create` does."""
from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import HTTPException, status

from custodywatch.api.deps import Services
from custodywatch.api.media import check_camera, not_found
from custodywatch.api.schemas_media import HoldRequest
from custodywatch.config import Config, RecorderConfig
from custodywatch.recorder.custody import CustodyNotFound, find_custody
from custodywatch.store.alerts import AlertNotFound


@dataclass(frozen=True)
class HoldRange:
    cameras: list[str]
    start: float
    end: float
    alert_id: str | None = None
    custody_id: str | None = None
    still_open: bool = False  # a custody record not released yet: held up to now only


def _bad(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def _config(services: Services, field: str) -> Config:
    if services.config is None:
        raise _bad(f"{field}: this box runs without a config, so the room's cameras are unknown")
    return services.config


def _room_cameras(cfg: Config, room: str, field: str) -> list[str]:
    cameras = sorted(c.id for c in cfg.cameras_in(room))
    if not cameras:
        raise _bad(f"{field}: room {room!r} has no cameras in the config")
    return cameras


def _custody(services: Services, body: HoldRequest, custody_id: str) -> HoldRange:
    if body.cameras or body.start or body.end or body.alert_id:
        raise _bad("custody_id: the record gives the cameras and the range; leave out cameras, start, end "
                   "and alert_id")
    cfg = _config(services, "custody_id")
    try:
        custody = find_custody(services.engine, custody_id)
    except CustodyNotFound as exc:
        raise not_found(f"custody_id: {exc}") from exc
    record = custody.record
    return HoldRange(_room_cameras(cfg, record.room, "custody_id"), record.check_in, custody.end(time.time()),
                     custody_id=str(custody.id), still_open=record.release is None)


def _alert(services: Services, alert_id: str) -> HoldRange:
    try:
        alert = services.store.get(alert_id)
    except AlertNotFound as exc:
        raise not_found(f"alert_id: no alert {alert_id!r}") from exc
    cfg = services.config
    rolls = RecorderConfig() if cfg is None else cfg.recorder
    cameras = {alert.camera} | ({c.id for c in cfg.cameras_in(alert.room)} if cfg is not None else set())
    # An open alert is held up to now, as a custody record is; its own protection keeps the rest.
    end = (alert.ended_at_epoch if alert.ended_at_epoch is not None else time.time()) + rolls.post_roll_s
    end = max(end, alert.fired_at_epoch + rolls.post_roll_s)
    return HoldRange(sorted(cameras), alert.condition_started_at_epoch - rolls.pre_roll_s, end,
                     alert_id=alert_id, still_open=alert.ended_at_epoch is None)


def hold_range(services: Services, body: HoldRequest) -> HoldRange:
    if body.custody_id is not None:
        return _custody(services, body, body.custody_id)
    if body.alert_id is not None and body.start is None and body.end is None:
        if body.cameras:
            raise _bad("cameras: a hold by alert takes the alert's room's cameras; give start and end too "
                       "to hold other cameras")
        return _alert(services, body.alert_id)
    if body.start is None or body.end is None:
        raise _bad("start, end: give the range to hold, or a custody_id or alert_id")
    cameras = [check_camera(services, c) for c in body.cameras]
    return HoldRange(cameras, body.start.timestamp(), body.end.timestamp(), alert_id=body.alert_id)
