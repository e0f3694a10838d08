"""At a centre: the alerts the boxes forward, pushed on the live feed within about a second.

The boxes' forwarders write into the central database themselves, so this process hears of nothing
new: it looks every POLL_S. It follows each box's receipts (`central_receipts`) by sequence
number. A box's numbers only grow and its batches commit in that order (they take turns on the
box's `central_boxes` row), so one cursor per box sees each row once; a look is one read of the
small `central_boxes` table, plus one indexed read for each box that moved.

Polling rather than LISTEN/NOTIFY: a notice would have to come from the forwarders, so it would
work only once every box was upgraded, and a listener that lost its connection would miss notices
and need this same catch-up read anyway. Half a second of polling costs next to nothing here.

Cursors start at what the boxes had sent when the centre started: a client's first event (and the
first after a centre restart) is a `reset`, which reloads the list with everything before. Several
rows of one alert in one look make one event with the alert as it is now, named after its newest
change: an alarm that was already acknowledged at the box does not sound at the centre.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from custodywatch.api.events import ALERT, EventHub, polling
from custodywatch.api.schemas import AlertUpdate
from custodywatch.store.alerts import AlertNotFound, AlertStore
from custodywatch.store.central import CentralStore
from custodywatch.store.views import AlertChange

log = logging.getLogger(__name__)

POLL_S = 0.5
# Alert rows read per box and look: a box back after a long cut is caught up over several looks.
BATCH = 200


@dataclass(frozen=True)
class _Cursor:
    first_seen_at: float  # changes when a box's rows were deleted and it reports in afresh
    seq: int  # the box's rows up to here are pushed


class CentralAlertFeed:
    def __init__(self, hub: EventHub, alerts: AlertStore, central: CentralStore, *,
                 poll_s: float = POLL_S) -> None:
        self._hub, self._alerts, self._central, self._poll_s = hub, alerts, central, poll_s
        self._cursors: dict[tuple[str, str], _Cursor] | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Pushes while inside (on the server's event loop) what is taken after entering."""
        try:
            await self.push_new()  # notes where each box stands
        except Exception:
            log.exception("could not read the boxes' cursors; trying again while serving")

        async def look() -> None:
            await self.push_new()

        async with polling(look, self._poll_s, "push the alerts the boxes forwarded"):
            yield

    async def push_new(self) -> int:
        """Push the alerts taken from the boxes since the last look; how many events went out."""
        boxes = await asyncio.to_thread(self._central.boxes)
        if self._cursors is None:
            self._cursors = {(b.site_id, b.box_id): _Cursor(b.first_seen_at, b.last_seq) for b in boxes}
            return 0
        pushed = 0
        for box in boxes:
            key = (box.site_id, box.box_id)
            cursor = self._cursors.get(key)
            if cursor is None or cursor.first_seen_at != box.first_seen_at:
                cursor = _Cursor(box.first_seen_at, 0)  # a new box, or one numbering its rows afresh
            if box.last_seq > cursor.seq:
                taken = await asyncio.to_thread(self._central.alerts_taken, *key, cursor.seq, box.last_seq,
                                                BATCH)
                pushed += await self._push(dict.fromkeys(alert_id for _seq, alert_id in taken))
                cursor = _Cursor(box.first_seen_at, taken[-1][0] if len(taken) == BATCH else box.last_seq)
            self._cursors[key] = cursor
        return pushed

    async def _push(self, alert_ids: dict[str, None]) -> int:
        pushed = 0
        for alert_id in alert_ids:
            try:
                alert = await asyncio.to_thread(self._alerts.get, alert_id)
            except AlertNotFound:
                log.warning("forwarded alert %s is not in the central database", alert_id)
                continue
            change = alert.history[-1].kind if alert.history else AlertChange.FIRED
            await self._hub.publish_durably(ALERT, AlertUpdate(change=change, alert=alert))
            pushed += 1
        return pushed
