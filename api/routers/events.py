"""GET /api/events: the live feed as server-sent events.

Needs a watch-desk session (the page's EventSource sends the session cookie). Events: `alert`
(data: AlertUpdate), `health` (data: HealthReport, when a camera connects or drops or a process
dies or returns), `escalation`, `recorder_alarm` (data: RecorderAlarm) and `reset` (reload the
alert list; sent first when the stream cannot resume from Last-Event-ID). Each event's `id:` is
the box's feed sequence number, which continues across restarts (api/events.py).

An open stream outlives its request's authentication check, so the session is checked again
every SESSION_CHECK_S: a logout, a disabled user or an expired session ends the stream too.
While the store cannot answer that check the stream goes on, and the check is made again later.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from custodywatch.api.auth import WatchDesk
from custodywatch.api.deps import ServicesDep

log = logging.getLogger("custodywatch.api")

router = APIRouter(tags=["events"])

SESSION_CHECK_S = 30.0


@router.get("/api/events", response_class=EventSourceResponse)
async def stream_events(
    services: ServicesDep, user: WatchDesk, last_event_id: Annotated[int | None, Header()] = None
) -> AsyncIterator[ServerSentEvent]:
    with services.hub.subscribe(last_event_id) as events:
        while True:
            try:
                event = await asyncio.wait_for(anext(events), SESSION_CHECK_S)
            except StopAsyncIteration:
                return
            except TimeoutError:
                try:
                    session = await run_in_threadpool(services.accounts.session, user.token)
                except SQLAlchemyError:
                    # The store is down: the desk keeps its live alerts (pushed from memory) rather
                    # than losing them to a check that cannot be made; it is made again next time.
                    log.warning("session of %s not checked: store unavailable", user.username)
                    continue
                if session is None:
                    return
                continue
            yield ServerSentEvent(event=event.kind, raw_data=event.data, id=str(event.seq))
