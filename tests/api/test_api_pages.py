from __future__ import annotations

import httpx

from custodywatch.rules.events import AlertEvent
from custodywatch.store.alerts import AlertStore
from custodywatch.vocabulary import RuleId, Severity


def test_the_watch_desk_page_is_served_at_root_with_its_assets(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/app.js"' in page.text
    assert 'id="connection"' in page.text

    script = client.get("/static/app.js")
    assert script.status_code == 200
    assert 'new EventSource("/api/events")' in script.text
    assert "/api/alerts" in script.text
    assert client.get("/static/style.css").status_code == 200


def test_docs_and_openapi_describe_the_api(client: httpx.Client) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "custodywatch test"
    for path in ("/api/alerts", "/api/alerts/{alert_id}", "/api/alerts/{alert_id}/acknowledge",
                 "/api/alerts/{alert_id}/resolve", "/api/events", "/healthz"):
        assert path in schema["paths"]


def test_metrics_count_stored_alerts_and_stream_clients(store: AlertStore, client: httpx.Client) -> None:
    store.apply(AlertEvent("fired", "a1", RuleId.VIDEO_LOSS, "corridor-1", "cam-c1", Severity.ALARM, 1, 21))
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert 'custodywatch_alerts{active="true",rule="video_loss",severity="alarm",state="new"} 1.0' in lines
    assert "custodywatch_sse_clients 0.0" in lines
