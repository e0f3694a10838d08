from __future__ import annotations

import json
import time

import anyio
import pytest
from pydantic import BaseModel

from custodywatch.api.events import RESET, EventHub, HubEvent, Subscription

pytestmark = pytest.mark.anyio


class Note(BaseModel):
    text: str


async def take(subscription: Subscription, n: int) -> list[HubEvent]:
    with anyio.fail_after(2):
        return [await anext(subscription) for _ in range(n)]


async def drain(subscription: Subscription) -> list[HubEvent]:
    with anyio.fail_after(2):
        return [event async for event in subscription]


def publish_notes(hub: EventHub, *texts: str) -> None:
    for text in texts:
        hub.publish("note", Note(text=text))


async def test_a_new_subscriber_gets_a_reset_then_live_events_with_increasing_ids() -> None:
    hub = EventHub(first_seq=100)
    with hub.subscribe() as events:
        publish_notes(hub, "a", "b")
        reset, a, b = await take(events, 3)
    assert (reset.kind, reset.seq) == (RESET, 99)
    assert [(e.seq, e.kind, json.loads(e.data)) for e in (a, b)] == [
        (100, "note", {"text": "a"}),
        (101, "note", {"text": "b"}),
    ]


async def test_every_subscriber_gets_every_event() -> None:
    hub = EventHub(first_seq=1)
    with hub.subscribe() as first, hub.subscribe() as second:
        publish_notes(hub, "a")
        assert [e.seq for e in await take(first, 2)] == [0, 1]
        assert [e.seq for e in await take(second, 2)] == [0, 1]


async def test_resuming_from_last_event_id_replays_only_what_was_missed() -> None:
    hub = EventHub(first_seq=100)
    publish_notes(hub, "a", "b", "c", "d", "e")  # 100..104
    with hub.subscribe(last_event_id=102) as events:
        publish_notes(hub, "f")
        assert [e.seq for e in await take(events, 3)] == [103, 104, 105]


async def test_resuming_with_nothing_missed_waits_for_the_next_event() -> None:
    hub = EventHub(first_seq=100)
    publish_notes(hub, "a", "b")
    with hub.subscribe(last_event_id=101) as events:
        publish_notes(hub, "c")
        assert [(e.seq, e.kind) for e in await take(events, 1)] == [(102, "note")]


@pytest.mark.parametrize(
    ("last_event_id", "why"),
    [(100, "fell out of the replay buffer"), (500, "from the future, e.g. an earlier run"), (5, "long ago")],
)
async def test_an_unresumable_last_event_id_gets_a_reset(last_event_id: int, why: str) -> None:
    hub = EventHub(replay_size=3, first_seq=100)
    publish_notes(hub, *"abcdefgh")  # 100..107, buffer holds 105..107
    with hub.subscribe(last_event_id=last_event_id) as events:
        [reset] = await take(events, 1)
    assert (reset.kind, reset.seq) == (RESET, 107), why


async def test_ids_after_a_restart_are_above_the_previous_runs() -> None:
    before = EventHub()
    publish_notes(before, "a", "b")
    time.sleep(0.01)
    after = EventHub()
    publish_notes(after, "c", "d", "e")
    assert after.last_seq - 2 > before.last_seq
    with after.subscribe(last_event_id=before.last_seq) as events:
        [reset] = await take(events, 1)
    assert reset.kind == RESET


async def test_a_subscriber_that_falls_behind_is_ended_and_resumes_without_loss() -> None:
    hub = EventHub(replay_size=4, first_seq=100)
    with hub.subscribe() as slow:
        publish_notes(hub, *"abcdef")  # 100..105; only 3 fit behind the reset
        received = await drain(slow)
    assert [e.seq for e in received] == [99, 100, 101, 102]
    with hub.subscribe(last_event_id=received[-1].seq) as resumed:
        assert [e.seq for e in await take(resumed, 3)] == [103, 104, 105]


async def test_close_ends_open_streams_and_new_ones() -> None:
    hub = EventHub(first_seq=1)
    with hub.subscribe() as events:
        publish_notes(hub, "a")
        hub.close()
        assert [e.seq for e in await drain(events)] == [0, 1]
    with hub.subscribe(last_event_id=1) as late:
        assert await drain(late) == []


async def test_subscriber_count_follows_open_subscriptions() -> None:
    hub = EventHub()
    with hub.subscribe(), hub.subscribe():
        assert hub.subscriber_count == 2
    assert hub.subscriber_count == 0
