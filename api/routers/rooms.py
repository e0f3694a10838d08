"""Rooms (watch desk): who was in a room when, from the role counts the rules stored, for the
timeline drawn beside an alert."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from custodywatch.api.auth import WatchDesk
from custodywatch.api.deps import ServicesDep
from custodywatch.api.schemas_auth import at_utc
from custodywatch.api.schemas_custody import RoomCountsView
from custodywatch.store.views import UtcDatetime
from custodywatch.vocabulary import Role

router = APIRouter(prefix="/api/rooms", tags=["rooms"])


@router.get("/{room}/counts", response_model=list[RoomCountsView])
def room_counts(
    services: ServicesDep, _user: WatchDesk, room: str,
    since: Annotated[UtcDatetime, Query()], until: Annotated[UtcDatetime, Query()],
) -> list[RoomCountsView]:
    """Each change of the room's counts in [since, until), led by the counts in force at `since`."""
    changes = services.rules_state.room_counts(room, since.timestamp(), until.timestamp())
    return [RoomCountsView(at=at_utc(c.at), detainees=c.counts.get(Role.DETAINEE, 0),
                           officers=c.counts.get(Role.OFFICER, 0), guards=c.counts.get(Role.GUARD, 0))
            for c in changes]
