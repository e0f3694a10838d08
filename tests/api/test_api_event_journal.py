"""The feed's journal (a real SQLite store): alert changes committed but not pushed are pushed by
the next run, once; numbering and replay continue across a restart, so a page that resumes with
Last-Event-ID from before it gets what it missed and nothing twice."""
from __future__ import annotations

import json

import anyio
import pytest
from sqlalchemy import Engine

from custodywatch.api.events import ALERT, HEALTH, RESET, EventHub, HubEvent, Subscription
from custodywatch.api.schemas import HealthReport
from custodywatch.rules.events import AlertEvent
from custodywatch.store.alerts import AlertStore
from custodywatch.store.feed import FeedJournal
from custodywatch.vocabulary import RuleId, Severity

pytestmark = pytest.mark.anyio


async def take(subscription: Subscription, n: int) -> list[HubEvent]:
    with anyio.fail_after(2):
        return [await anext(subscription) for _ in range(n)]


async def nothing_more(subscription: Subscription) -> None:
    with anyio.move_on_after(0.3):
        event = await anext(subscription)
        pytest.fail(f"unexpected {event}")


def fired(alert_id: str) -> AlertEvent:
    return AlertEvent("fired", alert_id, RuleId.VIDEO_LOSS, "corridor-1", "cam-c1", Severity.ALARM,
                      1_790_000_000.0, 1_790_000_020.0)


def change_of(event: HubEvent) -> tuple[str, str]:
    data = json.loads(event.data)
    return data["alert"]["id"], data["change"]


async def test_a_change_committed_but_not_pushed_is_pushed_by_the_next_run_once(
    engine: Engine, store: AlertStore
) -> None:
    before = EventHub(journal=FeedJournal(engine, "box1"))
    store.apply(fired("a-1"))
    assert await before.push_queued(store) == 1
    assert await before.push_queued(store) == 0  # pushed once
    last_seen = before.last_seq
    store.acknowledge("a-1", "desk")  # committed; the process dies before it pushes
    after = EventHub(journal=FeedJournal(engine, "box1"))  # the restart
    assert after.last_seq == last_seen
    with after.subscribe(last_event_id=last_seen) as resumed:
        assert await after.push_queued(store) == 1
        [event] = await take(resumed, 1)
        await nothing_more(resumed)
    assert event.seq == last_seen + 1 and change_of(event) == ("a-1", "acknowledged")
    assert await after.push_queued(store) == 0


async def test_a_page_behind_from_before_the_restart_is_replayed_from_the_journal(
    engine: Engine, store: AlertStore
) -> None:
    before = EventHub(journal=FeedJournal(engine, "box1"))
    store.apply(fired("a-1"))
    store.apply(fired("a-2"))
    await before.push_queued(store)
    await before.publish_durably(HEALTH, HealthReport(processes={"api": True}))
    first = before.last_seq - 2
    after = EventHub(journal=FeedJournal(engine, "box1"))
    with after.subscribe(last_event_id=first) as resumed:
        second, health = await take(resumed, 2)
        await nothing_more(resumed)
    assert (second.seq, second.kind, change_of(second)) == (first + 1, ALERT, ("a-2", "fired"))
    assert (health.seq, health.kind) == (first + 2, HEALTH)
    # Numbers go on from the journal: a new page starts after them.
    with after.subscribe() as fresh:
        [reset] = await take(fresh, 1)
    assert (reset.kind, reset.seq) == (RESET, first + 2)


async def test_each_box_has_its_own_numbering_and_queue(engine: Engine) -> None:
    one, two = AlertStore(engine, "site", "box1"), AlertStore(engine, "site", "box2")
    hub_one = EventHub(journal=FeedJournal(engine, "box1"), first_seq=1)
    hub_two = EventHub(journal=FeedJournal(engine, "box2"), first_seq=1)
    one.apply(fired("a-1"))
    two.apply(fired("b-1"))
    assert await hub_one.push_queued(one) == 1 and await hub_two.push_queued(two) == 1
    assert hub_one.last_seq == hub_two.last_seq == 1
