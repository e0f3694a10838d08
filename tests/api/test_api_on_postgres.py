"""The API over a PostgreSQL store, as `custodywatch run` serves it with CUSTODYWATCH_DATABASE_URL
pointing at PostgreSQL: log in, list alerts, acknowledge one (the rest of tests/api runs on SQLite)."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from api_accounts import PASSWORD
from live_server import LiveServer
from pg_scratch import ScratchDatabases
from sqlalchemy import Engine

from custodywatch.rules.events import AlertEvent
from custodywatch.store.accounts import AccountStore, AuditLog, Role
from custodywatch.store.alerts import AlertStore
from custodywatch.vocabulary import RuleId, Severity

T0 = 1_700_000_000.0


@pytest.fixture
def db_url(pg_databases: ScratchDatabases) -> Iterator[str]:
    """A scratch PostgreSQL database in place of tests/api's SQLite file (engine, store, server)."""
    url = pg_databases.url()
    yield url
    pg_databases.drop(url)


def test_login_list_and_acknowledge_over_postgresql(
    engine: Engine, store: AlertStore, accounts: AccountStore, server: LiveServer
) -> None:
    assert engine.dialect.name == "postgresql"
    accounts.add_user("desk", Role.WATCH_DESK, PASSWORD)
    for i, rule in enumerate((RuleId.SINGLE_OFFICER, RuleId.UNATTENDED_DETAINEE)):
        store.apply(AlertEvent("fired", f"a{i}", rule, "interrogation-1", "cam-i1", Severity.ALARM,
                               T0 + 60 * i - 30, T0 + 60 * i))

    with httpx.Client(base_url=server.url, timeout=5) as client:
        login = client.post("/api/auth/login", json={"username": "desk", "password": PASSWORD})
        assert login.status_code == 200, login.text
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

        listed = client.get("/api/alerts", params={"state": "new"})
        assert listed.status_code == 200, listed.text
        assert [a["id"] for a in listed.json()["items"]] == ["a1", "a0"]
        assert listed.json()["items"][1]["fired_at_epoch"] == T0  # epoch floats round-trip exactly

        acknowledged = client.post("/api/alerts/a0/acknowledge")
        assert acknowledged.status_code == 200, acknowledged.text
        body = acknowledged.json()
        assert (body["state"], body["acknowledged_by"]) == ("acknowledged", "desk")
        assert client.post("/api/alerts/a0/acknowledge").status_code == 409
        assert [a["id"] for a in client.get("/api/alerts", params={"state": "new"}).json()["items"]] == ["a1"]

    assert store.get("a0").acknowledged_by == "desk"
    audit = AuditLog(engine)
    assert [(e.actor, e.action) for e in reversed(audit.entries()[0])] == [("desk", "login"),
                                                                           ("desk", "acknowledge")]
    assert audit.verify() is None
