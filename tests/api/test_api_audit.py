"""The audit log: who did what when, for the admin only, and a chain that shows tampering."""
from __future__ import annotations

import httpx
from api_accounts import OPERATOR, TokenFor
from live_server import LiveServer
from sqlalchemy import Engine, text

from custodywatch.rules.events import AlertEvent
from custodywatch.store.accounts import AuditLog, Role
from custodywatch.store.alerts import AlertStore
from custodywatch.vocabulary import RuleId, Severity


def test_views_actions_and_logins_are_audited_in_a_chain_that_shows_tampering(
    store: AlertStore, engine: Engine, server: LiveServer, client: httpx.Client, token_for: TokenFor
) -> None:
    store.apply(AlertEvent("fired", "a1", RuleId.SINGLE_OFFICER, "interrogation-1", "cam-i1", Severity.ALARM,
                           940, 1000))
    client.get("/api/alerts/a1")
    client.post("/api/alerts/a1/acknowledge")
    client.post("/api/alerts/a1/resolve", json={"comment": "second officer back"})
    httpx.post(f"{server.url}/api/auth/login", json={"username": OPERATOR, "password": "nope"}, timeout=5)

    with httpx.Client(base_url=server.url, timeout=5, headers=token_for("boss", Role.ADMIN)) as admin:
        page = admin.get("/api/audit", params={"limit": 10}).json()
        assert page["intact"] is True
        newest_first = [(e["actor"], e["action"], e["target"]) for e in page["items"]]
        assert newest_first == [
            (OPERATOR, "login_failed", None),
            (OPERATOR, "resolve", "a1"),
            (OPERATOR, "acknowledge", "a1"),
            (OPERATOR, "view_alert", "a1"),
        ]
        assert page["items"][1]["detail"] == {"comment": "second officer back", "false_positive": False}
        only = admin.get("/api/audit", params={"action": "acknowledge"}).json()
        assert [e["target"] for e in only["items"]] == ["a1"]

        # Someone with the database file rewrites history: the chain no longer verifies.
        with engine.begin() as connection:
            connection.execute(text("UPDATE audit_log SET actor = 'x' WHERE action = 'acknowledge'"))
        tampered = admin.get("/api/audit").json()
        assert tampered["intact"] is False
        edited = next(e["id"] for e in page["items"] if e["action"] == "acknowledge")
        assert tampered["first_broken_id"] == edited
    assert AuditLog(engine).verify() is not None
