"""Custody records (watch desk): the board, check-in with a legal basis, release.

Records are written through the rules' store; the analytics process re-reads them every few
seconds, so a check-in starts (and a release stops) the custody clock and the overstay and
unregistered-detention rules follow. Every change is audited.
"""
from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from custodywatch.api.auth import WatchDesk
from custodywatch.api.deps import Services, ServicesDep
from custodywatch.api.schemas import ErrorBody
from custodywatch.api.schemas_custody import CheckIn, CustodyOptions, CustodyView, Release
from custodywatch.config import CustodyConfig
from custodywatch.rules.custody import CustodyRecord, legal_bases, limit_s
from custodywatch.store.views import UtcDatetime
from custodywatch.vocabulary import RoomType

router = APIRouter(prefix="/api/custody", tags=["custody"])

Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"model": ErrorBody, "description": "The person has no open custody record."}}
CONFLICT: Responses = {409: {"model": ErrorBody, "description": "The person is already checked in."}}
CLOCK_SLACK_S = 60  # a check-in a little ahead of the box's clock is a clock difference, not a plan
RECENT_S = 24 * 3600


def _custody(services: Services) -> CustodyConfig:
    return services.config.custody if services.config is not None else CustodyConfig()


def _view(record: CustodyRecord, custody: CustodyConfig) -> CustodyView:
    limit = limit_s(record, custody)
    return CustodyView(
        person=record.person, room=record.room, legal_basis=record.legal_basis, extended=record.extended,
        check_in=datetime.fromtimestamp(record.check_in, UTC),
        release=None if record.release is None else datetime.fromtimestamp(record.release, UTC),
        limit_s=limit, deadline=datetime.fromtimestamp(record.check_in + limit, UTC))


def _open_record(services: Services, person: str) -> CustodyRecord | None:
    return next((r for r in services.rules_state.custody_records(float("inf")) if r.person == person), None)


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


@router.get("/options", response_model=CustodyOptions)
def custody_options(services: ServicesDep, _user: WatchDesk) -> CustodyOptions:
    """What a check-in may name: the configured rooms that hold people, and the legal bases."""
    custody = _custody(services)
    configured = [] if services.config is None else services.config.rooms
    rooms = [r.id for r in configured if r.type != RoomType.CORRIDOR]
    bases = {b: float(custody.limits_s[b]) for b in legal_bases(custody)}
    return CustodyOptions(rooms=rooms, legal_bases=bases)


@router.get("", response_model=list[CustodyView])
def list_custody(
    services: ServicesDep, _user: WatchDesk,
    released_since: Annotated[UtcDatetime | None, Query(description="Also list records released since then "
                                                               "(default: the last 24 h).")] = None,
    open_only: bool = False,
) -> list[CustodyView]:
    """Open records and recently released ones, in check-in order."""
    if open_only:
        since = float("inf")
    else:
        since = released_since.timestamp() if released_since is not None else time.time() - RECENT_S
    custody = _custody(services)
    return [_view(r, custody) for r in services.rules_state.custody_records(since)]


@router.post("", response_model=CustodyView, status_code=status.HTTP_201_CREATED,
             responses={**CONFLICT, 422: {"model": ErrorBody, "description": "Unknown room or legal basis."}})
def check_in(services: ServicesDep, user: WatchDesk, body: CheckIn) -> CustodyView:
    custody = _custody(services)
    if services.config is not None and body.room not in {r.id for r in services.config.rooms}:
        known = ", ".join(r.id for r in services.config.rooms)
        raise _unprocessable(f"room: unknown room {body.room!r} (rooms: {known})")
    if body.legal_basis not in legal_bases(custody):
        known = ", ".join(legal_bases(custody))
        raise _unprocessable(f"legal_basis: {body.legal_basis!r} is not one of {known}")
    now = time.time()
    at = now if body.check_in is None else body.check_in.timestamp()
    if at > now + CLOCK_SLACK_S:
        raise _unprocessable("check_in: custody cannot begin in the future")
    if _open_record(services, body.person) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"{body.person!r} is already checked in; release them first")
    record = CustodyRecord(body.person, body.room, body.legal_basis, body.extended, at)
    services.rules_state.put_custody(record)
    services.audit.append(user.username, "custody_check_in", body.person, room=body.room,
                          legal_basis=body.legal_basis, extended=body.extended, check_in=at)
    return _view(record, custody)


@router.post("/{person}/release", response_model=CustodyView,
             responses={**NOT_FOUND, 422: {"model": ErrorBody, "description": "Release before check-in."}})
def release(services: ServicesDep, user: WatchDesk, person: str, body: Release | None = None) -> CustodyView:
    record = _open_record(services, person)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{person!r} has no open custody record")
    at = time.time() if body is None or body.release is None else body.release.timestamp()
    if at < record.check_in:
        raise _unprocessable("release: custody cannot end before it began")
    released = dataclasses.replace(record, release=at)
    services.rules_state.put_custody(released)
    services.audit.append(user.username, "custody_release", person, room=record.room, release=at)
    return _view(released, _custody(services))
