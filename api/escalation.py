"""Escalation: an alert left unacknowledged is announced again every `after_s`, on the live feed as
an `escalation` event naming the users it escalates to (a second list, e.g. the duty officer), so
every open page sounds again and theirs shows it as theirs.

The repeat count comes from the alert's age (the n-th announcement at n * after_s), so after a
restart the next one still comes on time; the one due at the restart is made at once.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence

from pydantic import BaseModel

from custodywatch.api.events import EventHub, polling
from custodywatch.store.alerts import AlertNotFound, AlertStore
from custodywatch.store.views import AlertState, AlertView

log = logging.getLogger(__name__)

ESCALATION = "escalation"
POLL_S = 10.0
PAGE = 1000


class Escalation(BaseModel):
    """The data of an `escalation` event."""

    alert: AlertView
    unacknowledged_s: float
    count: int  # 1 for the first re-notification, 2 for the next...
    notify: list[str]


class Escalator:
    def __init__(self, store: AlertStore, hub: EventHub, after_s: float, escalate_to: Sequence[str] = (), *,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._hub = hub
        self.after_s = after_s
        self._escalate_to = list(escalate_to)
        self._clock = clock
        self._announced: dict[str, int] = {}  # alert id -> count announced by this process

    def pending(self) -> list[Escalation]:
        """Every alert escalated and still unacknowledged now, announced or not: what a user on the
        escalation list who logs in after the announcement has waiting (from the store: thread pool).
        Derived from the alerts themselves, so it needs no record of its own and survives restarts."""
        now = self._clock()
        out = []
        for alert in self._store.list(state=AlertState.NEW, box=self._store.box_id, limit=PAGE).items:
            age = now - alert.fired_at_epoch
            if age >= self.after_s:
                out.append(Escalation(alert=alert, unacknowledged_s=age, count=math.floor(age / self.after_s),
                                      notify=self._escalate_to))
        return out

    def due(self) -> list[Escalation]:
        """This box's unacknowledged alerts whose next re-notification is due (from the store: thread
        pool). Only those due are read whole: a night of unacknowledged alerts costs each poll a
        list of ids, not hundreds of alerts with their histories every few seconds."""
        now = self._clock()
        due: list[Escalation] = []
        new = self._store.unacknowledged(PAGE)
        # Acknowledged and resolved alerts drop out, and with them what was announced of them.
        ids = {alert_id for alert_id, _ in new}
        self._announced = {a: c for a, c in self._announced.items() if a in ids}
        for alert_id, fired_at in new:
            age = now - fired_at
            count = math.floor(age / self.after_s)
            if count < 1 or self._announced.get(alert_id, count - 1) >= count:
                continue
            try:
                alert = self._store.get(alert_id)
            except AlertNotFound:
                continue
            if alert.state != AlertState.NEW:
                continue  # acknowledged since the list was read
            self._announced[alert_id] = count
            due.append(Escalation(alert=alert, unacknowledged_s=age, count=count, notify=self._escalate_to))
        return due

    @contextlib.asynccontextmanager
    async def running(self, poll_s: float | None = None) -> AsyncIterator[None]:
        async def check() -> None:
            for escalation in await asyncio.to_thread(self.due):
                await self._hub.publish_durably(ESCALATION, escalation)

        async with polling(check, POLL_S if poll_s is None else poll_s, "check for unacknowledged alerts"):
            yield
