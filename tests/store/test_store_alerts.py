from __future__ import annotations

import threading
from datetime import UTC, datetime
from functools import partial

import pytest
from alert_samples import T0, FakeClock, alert_event
from at_once import run_at_once
from sqlalchemy import Engine

from custodywatch.rules.events import EventKind
from custodywatch.store.alerts import AlertNotFound, AlertStore, InvalidTransition
from custodywatch.store.db import make_engine
from custodywatch.store.views import AlertChange, AlertState
from custodywatch.vocabulary import RuleId, Severity


def test_fired_escalated_ended_update_one_alert_and_keep_its_history(
    store: AlertStore, clock: FakeClock
) -> None:
    guard_absent = partial(alert_event, rule=RuleId.GUARD_ABSENT, room="holding-1", camera="cam-h1")
    fired = store.apply(guard_absent("fired", at=T0 + 60, severity=Severity.WARNING, detail="post empty"))
    assert (fired.active, fired.severity, fired.state) == (True, Severity.WARNING, AlertState.NEW)
    assert fired.fired_at == datetime.fromtimestamp(T0 + 60, UTC)
    assert (fired.site_id, fired.box_id) == ("zh-center", "box1")

    clock.now += 60
    store.apply(guard_absent("escalated", at=T0 + 120, severity=Severity.ALARM))
    clock.now += 30
    ended = store.apply(guard_absent("ended", at=T0 + 150, severity=Severity.ALARM))

    assert store.list().total == 1
    assert store.get("a1") == ended
    assert ended.severity == Severity.ALARM
    assert ended.active is False
    assert ended.condition_started_at_epoch == T0
    assert ended.fired_at_epoch == T0 + 60
    assert ended.ended_at_epoch == T0 + 150
    assert ended.updated_at_epoch == clock.now
    assert ended.detail == "post empty"
    assert [(h.kind, h.severity, h.at_epoch) for h in ended.history] == [
        (AlertChange.FIRED, Severity.WARNING, T0 + 60),
        (AlertChange.ESCALATED, Severity.ALARM, T0 + 120),
        (AlertChange.ENDED, Severity.ALARM, T0 + 150),
    ]


def test_applying_the_same_events_again_changes_nothing(
    store: AlertStore, clock: FakeClock
) -> None:
    events = [
        alert_event("fired", at=T0 + 60, severity=Severity.WARNING),
        alert_event("escalated", at=T0 + 120),
        alert_event("ended", at=T0 + 150),
    ]
    for event in events:
        store.apply(event)
    recorded = store.get("a1")

    clock.now += 500
    for event in events + events[::-1]:
        assert store.apply(event) == recorded
    assert store.get("a1") == recorded


def test_each_escalation_is_kept_even_at_the_same_severity(store: AlertStore) -> None:
    # Overstay warns at several lead times before its alarm.
    overstay = partial(alert_event, rule=RuleId.OVERSTAY, severity=Severity.WARNING)
    store.apply(overstay("fired", at=T0 + 100, detail="2 h left"))
    store.apply(overstay("escalated", at=T0 + 3700, detail="1 h left"))
    alert = store.apply(overstay("escalated", at=T0 + 5500, detail="30 min left"))
    assert [h.kind for h in alert.history] == ["fired", "escalated", "escalated"]
    assert alert.detail == "30 min left"


@pytest.mark.parametrize("kind", ["escalated", "ended"])
def test_a_change_to_an_unknown_alert_is_refused(store: AlertStore, kind: EventKind) -> None:
    with pytest.raises(AlertNotFound):
        store.apply(alert_event(kind, alert_id="never-fired"))


def test_an_ended_alert_cannot_escalate(store: AlertStore) -> None:
    store.apply(alert_event("fired", severity=Severity.WARNING))
    store.apply(alert_event("ended", at=T0 + 90))
    with pytest.raises(InvalidTransition):
        store.apply(alert_event("escalated", at=T0 + 120))


def test_acknowledge_then_resolve_records_who_when_and_why(
    store: AlertStore, clock: FakeClock
) -> None:
    store.apply(alert_event("fired"))
    clock.now += 5
    acknowledged = store.acknowledge("a1", "officer-li")
    assert acknowledged.state == AlertState.ACKNOWLEDGED
    assert (acknowledged.acknowledged_by, acknowledged.acknowledged_at_epoch) == ("officer-li", clock.now)

    clock.now += 5
    resolved = store.resolve("a1", "officer-wang", "  second officer arrived  ", false_positive=True)
    assert resolved.state == AlertState.RESOLVED
    assert (resolved.resolved_by, resolved.resolved_at_epoch) == ("officer-wang", clock.now)
    assert resolved.comment == "second officer arrived"
    assert resolved.false_positive is True
    assert resolved.active is True  # resolving closes the workflow, not the condition
    assert [(h.kind, h.actor, h.comment) for h in resolved.history] == [
        (AlertChange.FIRED, None, None),
        (AlertChange.ACKNOWLEDGED, "officer-li", None),
        (AlertChange.RESOLVED, "officer-wang", "second officer arrived"),
    ]


def test_the_condition_still_ends_after_the_alert_is_resolved(store: AlertStore) -> None:
    store.apply(alert_event("fired"))
    store.resolve("a1", "op", "known: lawyer visit")
    ended = store.apply(alert_event("ended", at=T0 + 300))
    assert (ended.active, ended.state, ended.ended_at_epoch) == (False, AlertState.RESOLVED, T0 + 300)


# (setup actions, action to try, whether the condition is still active)
TRANSITIONS = [
    pytest.param([], "resolve_without_comment", True, id="active alert resolved without a comment"),
    pytest.param(["acknowledge"], "acknowledge", False, id="acknowledged twice"),
    pytest.param(["resolve"], "acknowledge", False, id="acknowledge a resolved alert"),
    pytest.param(["resolve"], "resolve", False, id="resolved twice"),
]


@pytest.mark.parametrize(("setup", "action", "active"), TRANSITIONS)
def test_invalid_transitions_raise_and_change_nothing(
    store: AlertStore, setup: list[str], action: str, active: bool
) -> None:
    store.apply(alert_event("fired"))
    if not active:
        store.apply(alert_event("ended", at=T0 + 90))
    actions = {
        "acknowledge": lambda: store.acknowledge("a1", "op"),
        "resolve": lambda: store.resolve("a1", "op", "checked"),
        "resolve_without_comment": lambda: store.resolve("a1", "op", "   "),
    }
    for step in setup:
        actions[step]()
    before = store.get("a1")
    with pytest.raises(InvalidTransition):
        actions[action]()
    assert store.get("a1") == before


def test_an_ended_new_alert_can_be_resolved_without_a_comment(store: AlertStore) -> None:
    store.apply(alert_event("fired"))
    store.apply(alert_event("ended", at=T0 + 90))
    resolved = store.resolve("a1", "op")
    assert (resolved.state, resolved.comment) == (AlertState.RESOLVED, None)


@pytest.mark.parametrize("action", ["get", "acknowledge", "resolve"])
def test_unknown_alert_ids_raise_not_found(store: AlertStore, action: str) -> None:
    calls = {
        "get": lambda: store.get("nope"),
        "acknowledge": lambda: store.acknowledge("nope", "op"),
        "resolve": lambda: store.resolve("nope", "op", "x"),
    }
    with pytest.raises(AlertNotFound):
        calls[action]()


@pytest.fixture
def six_alerts(store: AlertStore) -> AlertStore:
    """a0..a5, fired a minute apart (a5 newest), in two rooms, with mixed rules, severities, states."""
    rooms = ["interrogation-1", "holding-1"]
    for i in range(6):
        rule = RuleId.SINGLE_OFFICER if i % 2 == 0 else RuleId.GUARD_ABSENT
        severity = Severity.ALARM if i < 4 else Severity.WARNING
        room = rooms[i % 2]
        store.apply(alert_event("fired", f"a{i}", at=T0 + 60 * i, rule=rule, room=room, severity=severity))
    store.apply(alert_event("ended", "a1", at=T0 + 500))
    store.acknowledge("a2", "op")
    store.resolve("a3", "op", "drill")
    return store


AT_A2 = datetime.fromtimestamp(T0 + 120, UTC)
LIST_CASES = [
    pytest.param({}, ["a5", "a4", "a3", "a2", "a1", "a0"], id="all, newest first"),
    pytest.param({"room": "holding-1"}, ["a5", "a3", "a1"], id="room"),
    pytest.param({"rule": RuleId.SINGLE_OFFICER}, ["a4", "a2", "a0"], id="rule"),
    pytest.param({"severity": Severity.WARNING}, ["a5", "a4"], id="severity"),
    pytest.param({"state": AlertState.ACKNOWLEDGED}, ["a2"], id="state"),
    pytest.param({"active": False}, ["a1"], id="ended"),
    pytest.param({"active": True, "state": AlertState.NEW}, ["a5", "a4", "a0"], id="active and new"),
    pytest.param({"since": AT_A2}, ["a5", "a4", "a3", "a2"], id="since inclusive"),
    pytest.param({"until": AT_A2}, ["a1", "a0"], id="until exclusive"),
    pytest.param({"room": "holding-1", "severity": Severity.ALARM}, ["a3", "a1"], id="combined"),
]


@pytest.mark.parametrize(("filters", "expected"), LIST_CASES)
def test_list_filters(six_alerts: AlertStore, filters: dict[str, object], expected: list[str]) -> None:
    page = six_alerts.list(**filters)  # type: ignore[arg-type]
    assert [a.id for a in page.items] == expected
    assert page.total == len(expected)


def test_list_pages_through_all_alerts_with_the_total(six_alerts: AlertStore) -> None:
    pages = [six_alerts.list(limit=4, offset=offset) for offset in (0, 4, 8)]
    assert [[a.id for a in p.items] for p in pages] == [["a5", "a4", "a3", "a2"], ["a1", "a0"], []]
    assert {p.total for p in pages} == {6}
    assert (pages[1].limit, pages[1].offset) == (4, 4)


def test_listed_alerts_carry_their_history(six_alerts: AlertStore) -> None:
    a1 = next(a for a in six_alerts.list().items if a.id == "a1")
    assert [h.kind for h in a1.history] == ["fired", "ended"]


def test_counts_group_alerts_for_metrics(six_alerts: AlertStore) -> None:
    counts = {(c.rule, c.severity, c.state, c.active): c.count for c in six_alerts.counts()}
    assert counts[(RuleId.SINGLE_OFFICER, Severity.ALARM, AlertState.NEW, True)] == 1
    assert counts[(RuleId.GUARD_ABSENT, Severity.ALARM, AlertState.NEW, False)] == 1
    assert sum(counts.values()) == 6


def test_two_writers_on_one_database_wait_for_each_other_instead_of_failing(
    engine: Engine, db_url: str
) -> None:
    # As on the box: the analytics process applies rule events while the API acknowledges,
    # each with its own engine on the same database.
    other_engine = make_engine(db_url)
    analytics = AlertStore(other_engine, "zh-center", "box1")
    api = AlertStore(engine, "zh-center", "box1")
    n = 40
    errors: list[BaseException] = []

    def apply_events() -> None:
        try:
            for i in range(n):
                analytics.apply(alert_event("fired", f"x{i}", at=T0 + i))
                analytics.apply(alert_event("ended", f"x{i}", at=T0 + i + 0.5))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    writer = threading.Thread(target=apply_events)
    writer.start()
    acknowledged: set[str] = set()
    try:
        while (writer.is_alive() or len(acknowledged) < n) and not errors:
            for alert in api.list(state=AlertState.NEW, limit=n).items:
                api.acknowledge(alert.id, "op")
                acknowledged.add(alert.id)
    finally:
        writer.join()
        other_engine.dispose()
    assert errors == []
    assert api.list(state=AlertState.ACKNOWLEDGED, active=False).total == n


def test_two_operators_acknowledging_at_once_get_one_acknowledgement_each_alert(
    store: AlertStore, engine: Engine, db_url: str
) -> None:
    # Two watch desks (two API processes) click "acknowledge" on the same alerts at the same time.
    n = 20
    for i in range(n):
        store.apply(alert_event("fired", f"x{i}", at=T0 + i))
    other_engine = make_engine(db_url)
    desks = {"op-a": AlertStore(engine, "zh-center", "box1"),
             "op-b": AlertStore(other_engine, "zh-center", "box1")}
    won: dict[str, list[str]] = {name: [] for name in desks}

    def acknowledge_all(name: str) -> None:
        for i in range(n):
            try:
                desks[name].acknowledge(f"x{i}", name)
                won[name].append(f"x{i}")
            except InvalidTransition:
                pass

    try:
        errors = run_at_once(*(partial(acknowledge_all, name) for name in desks))
    finally:
        other_engine.dispose()
    assert errors == []
    assert sorted(won["op-a"] + won["op-b"]) == sorted(f"x{i}" for i in range(n))
    for alert in store.list(limit=n).items:
        acks = [h.actor for h in alert.history if h.kind == AlertChange.ACKNOWLEDGED]
        assert acks == [alert.acknowledged_by], alert.id
