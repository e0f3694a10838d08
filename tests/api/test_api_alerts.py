from __future__ import annotations

import httpx
import pytest
from api_accounts import OPERATOR

from custodywatch.rules.events import AlertEvent
from custodywatch.store.alerts import AlertStore
from custodywatch.vocabulary import RuleId, Severity

T0 = 1_700_000_000.0


def fire(
    store: AlertStore,
    alert_id: str,
    at: float,
    rule: RuleId = RuleId.SINGLE_OFFICER,
    room: str = "interrogation-1",
    camera: str = "cam-i1",
    severity: Severity = Severity.ALARM,
) -> None:
    store.apply(AlertEvent("fired", alert_id, rule, room, camera, severity, at - 60, at))


@pytest.fixture
def seeded(store: AlertStore) -> AlertStore:
    fire(store, "a0", T0)
    fire(store, "a1", T0 + 60, rule=RuleId.GUARD_ABSENT, room="holding-1", camera="cam-h1",
         severity=Severity.WARNING)
    fire(store, "a2", T0 + 120)
    store.apply(AlertEvent("ended", "a0", RuleId.SINGLE_OFFICER, "interrogation-1", "cam-i1",
                           Severity.ALARM, T0 - 60, T0 + 30))
    return store


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["items"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["a2", "a1", "a0"]),
        ({"room": "holding-1"}, ["a1"]),
        ({"rule": "single_officer"}, ["a2", "a0"]),
        ({"severity": "alarm", "active": "true"}, ["a2"]),
        ({"state": "new", "active": "false"}, ["a0"]),
        ({"since": "2023-11-14T22:14:20Z"}, ["a2", "a1"]),
        ({"since": str(T0 + 60), "until": str(T0 + 120)}, ["a1"]),
        ({"limit": 2}, ["a2", "a1"]),
        ({"limit": 2, "offset": 2}, ["a0"]),
    ],
)
def test_list_filters_and_pages(
    seeded: AlertStore, client: httpx.Client, params: dict[str, str], expected: list[str]
) -> None:
    assert ids(client.get("/api/alerts", params=params)) == expected


def test_list_reports_the_total_and_the_page(seeded: AlertStore, client: httpx.Client) -> None:
    body = client.get("/api/alerts", params={"limit": 1, "offset": 1}).json()
    assert (body["total"], body["limit"], body["offset"], len(body["items"])) == (3, 1, 1, 1)


@pytest.mark.parametrize("params", [{"rule": "jaywalking"}, {"limit": 0}, {"limit": 5000}, {"since": "soon"}])
def test_bad_filters_are_rejected(client: httpx.Client, params: dict[str, str | int]) -> None:
    assert client.get("/api/alerts", params=params).status_code == 422


def test_an_alert_has_iso_utc_and_epoch_times_and_its_history(
    seeded: AlertStore, client: httpx.Client
) -> None:
    alert = client.get("/api/alerts/a0").json()
    assert alert["fired_at"] == "2023-11-14T22:13:20Z"
    assert alert["fired_at_epoch"] == T0
    assert alert["ended_at"] == "2023-11-14T22:13:50Z"
    assert alert["ended_at_epoch"] == T0 + 30
    assert (alert["rule"], alert["severity"], alert["state"], alert["active"]) == (
        "single_officer", "alarm", "new", False,
    )
    assert [h["kind"] for h in alert["history"]] == ["fired", "ended"]


def test_unknown_alert_is_404(client: httpx.Client) -> None:
    for response in (
        client.get("/api/alerts/nope"),
        client.post("/api/alerts/nope/acknowledge"),
        client.post("/api/alerts/nope/resolve", json={"comment": "x"}),
    ):
        assert response.status_code == 404
        assert "nope" in response.json()["detail"]


def test_acknowledge_records_the_logged_in_operator_and_a_second_time_is_409(
    seeded: AlertStore, client: httpx.Client
) -> None:
    response = client.post("/api/alerts/a2/acknowledge")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["acknowledged_by"]) == ("acknowledged", OPERATOR)

    again = client.post("/api/alerts/a2/acknowledge")
    assert again.status_code == 409
    assert "acknowledged" in again.json()["detail"]


def test_resolving_an_active_alert_needs_a_comment(seeded: AlertStore, client: httpx.Client) -> None:
    refused = client.post("/api/alerts/a2/resolve", json={"comment": ""})
    assert refused.status_code == 409
    assert "comment" in refused.json()["detail"]

    comment = "second officer present, camera angle"
    resolved = client.post("/api/alerts/a2/resolve", json={"comment": comment, "false_positive": True})
    assert resolved.status_code == 200
    body = resolved.json()
    assert (body["state"], body["comment"], body["false_positive"], body["active"]) == (
        "resolved", comment, True, True,
    )
    assert client.post("/api/alerts/a2/resolve", json={"comment": "again"}).status_code == 409


def test_an_ended_alert_resolves_without_a_comment(seeded: AlertStore, client: httpx.Client) -> None:
    response = client.post("/api/alerts/a0/resolve", json={})
    assert response.status_code == 200
    assert response.json()["state"] == "resolved"
