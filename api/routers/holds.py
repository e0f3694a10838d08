"""Legal holds (investigator): footage retention must keep, whatever its age, until released: a range
on cameras, a custody record or an alert (`hold_ranges`)."""
from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, status

from custodywatch.api.auth import Investigator
from custodywatch.api.deps import Services, ServicesDep
from custodywatch.api.hold_ranges import hold_range
from custodywatch.api.schemas import ErrorBody
from custodywatch.api.schemas_media import HoldOut, HoldRelease, HoldRequest
from custodywatch.recorder.catalog import HoldError, HoldView, RecorderCatalog

router = APIRouter(prefix="/api/holds", tags=["holds"])


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _out(h: HoldView) -> HoldOut:
    return HoldOut(id=h.id, cameras=h.cameras, start=_at(h.start), end=_at(h.end), reason=h.reason,
                   alert_id=h.alert_id, custody_id=h.custody_id, created_by=h.created_by,
                   created_at=_at(h.created_at),
                   released_by=h.released_by,
                   released_at=None if h.released_at is None else _at(h.released_at),
                   release_reason=h.release_reason, active=h.active)


def _catalog(services: Services) -> RecorderCatalog:
    return RecorderCatalog(services.engine)


@router.get("", response_model=list[HoldOut])
def list_holds(services: ServicesDep, _user: Investigator, active_only: bool = False) -> list[HoldOut]:
    return [_out(h) for h in _catalog(services).holds(active_only=active_only)]


@router.post("", response_model=HoldOut, status_code=status.HTTP_201_CREATED,
             responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
def create_hold(services: ServicesDep, user: Investigator, body: HoldRequest) -> HoldOut:
    held = hold_range(services, body)
    try:
        hold = _catalog(services).create_hold(held.cameras, held.start, held.end, body.reason, user.username,
                                              alert_id=held.alert_id, custody_id=held.custody_id)
    except HoldError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    services.audit.append(user.username, "hold_create", hold.id, cameras=hold.cameras, start=hold.start,
                          end=hold.end, reason=hold.reason, alert_id=hold.alert_id,
                          custody_id=hold.custody_id, held_up_to_now=held.still_open)
    return _out(hold)


@router.post("/{hold_id}/release", response_model=HoldOut,
             responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}})
def release_hold(services: ServicesDep, user: Investigator, hold_id: str, body: HoldRelease) -> HoldOut:
    catalog = _catalog(services)
    if not any(h.id == hold_id for h in catalog.holds()):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no hold {hold_id!r}")
    try:
        hold = catalog.release_hold(hold_id, body.reason, user.username)
    except HoldError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    services.audit.append(user.username, "hold_release", hold_id, reason=body.reason)
    return _out(hold)
