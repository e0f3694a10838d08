"""GET /api/events: the live alert feed as server-sent events.

Events: `alert` (data: AlertUpdate) and `reset` (reload the alert list; sent first when the stream
cannot resume from Last-Event-ID). Each event's `id:` is the box's feed sequence number.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent

from custodywatch.api.deps import ServicesDep

router = APIRouter(tags=["events"])


@router.get("/api/events", response_class=EventSourceResponse)
async def stream_events(
    services: ServicesDep, last_event_id: Annotated[int | None, Header()] = None
) -> AsyncIterator[ServerSentEvent]:
    with services.hub.subscribe(last_event_id) as events:
        async for event in events:
            yield ServerSentEvent(event=event.kind, raw_data=event.data, id=str(event.seq))
