"""Logging in, sessions, roles on every route, CSRF on cookie writes, the failed-login limit."""
from __future__ import annotations

import re

import httpx
import pytest
from api_accounts import PASSWORD, TokenFor
from conftest import Serve
from fastapi.routing import APIRoute
from live_server import LiveServer
from sqlalchemy import Engine

from custodywatch.api.app import ROUTERS
from custodywatch.api.auth import CSRF_HEADER, SESSION_COOKIE
from custodywatch.api.throttle import LoginThrottle
from custodywatch.store.accounts import AccountStore, Role

PUBLIC = {("POST", "/api/auth/login")}
# The least role each /api/ route needs; a route missing here fails the test, so a new route
# cannot be added without deciding who may call it.
NEEDS: dict[str, Role] = {
    "/api/auth/": Role.WATCH_DESK,
    "/api/alerts": Role.WATCH_DESK,
    "/api/events": Role.WATCH_DESK,
    "/api/escalations": Role.WATCH_DESK,
    "/api/cameras": Role.WATCH_DESK,
    "/api/custody": Role.WATCH_DESK,
    "/api/rooms/": Role.WATCH_DESK,
    "/api/recordings/": Role.INVESTIGATOR,
    "/api/holds": Role.INVESTIGATOR,
    "/api/exports": Role.INVESTIGATOR,
    "/api/box": Role.INVESTIGATOR,
    "/api/users": Role.ADMIN,
    "/api/audit": Role.ADMIN,
    "/api/config": Role.ADMIN,
    "/api/zones": Role.ADMIN,
    # Everyone sees maintenance windows; starting and ending one needs an investigator.
    "POST /api/maintenance": Role.INVESTIGATOR,
    "/api/maintenance": Role.WATCH_DESK,
    "/api/reports": Role.INVESTIGATOR,
    "/api/reanalysis": Role.INVESTIGATOR,
    "/api/central/": Role.WATCH_DESK,
}


def api_routes() -> list[tuple[str, str]]:
    routes = []
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.path.startswith("/api/"):
                routes.extend((method, route.path) for method in sorted(route.methods))
    return routes


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def needed_role(path: str, method: str = "GET") -> Role:
    """A key with a method ("POST /api/...") applies to that method only."""
    return next(role for prefix, role in NEEDS.items()
                if path.startswith(prefix) or f"{method} {path}".startswith(prefix))


def login(url: str, username: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{url}/api/auth/login", json={"username": username, "password": password}, timeout=5)


@pytest.fixture
def users(accounts: AccountStore) -> AccountStore:
    for name, role in (("desk", Role.WATCH_DESK), ("inv", Role.INVESTIGATOR), ("boss", Role.ADMIN)):
        accounts.add_user(name, role, PASSWORD)
    return accounts


@pytest.mark.parametrize(("method", "path"), [r for r in api_routes() if r not in PUBLIC])
def test_every_api_route_refuses_an_anonymous_call_with_401(
    anonymous: httpx.Client, method: str, path: str
) -> None:
    response = anonymous.request(method, concrete(path), json={})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), [
    r for r in api_routes() if r not in PUBLIC and needed_role(r[1], r[0]) != Role.WATCH_DESK])
def test_a_role_below_the_one_a_route_needs_gets_403(
    server: LiveServer, token_for: TokenFor, method: str, path: str
) -> None:
    for role in [r for r in Role if not r.allows(needed_role(path, method))]:
        headers = token_for(f"user-{role.value.replace('_', '-')}", role)
        response = httpx.request(method, server.url + concrete(path), json={}, headers=headers, timeout=5)
        assert response.status_code == 403, (role, response.text)


@pytest.mark.parametrize(("method", "path"), [r for r in api_routes()
                                             if r not in PUBLIC and r != ("GET", "/api/events")])
def test_the_role_a_route_needs_is_let_through(
    server: LiveServer, token_for: TokenFor, method: str, path: str
) -> None:
    # The live feed never ends by itself; its allowed case is in test_api_event_stream.
    role = needed_role(path, method)
    headers = token_for(f"user-{role.value.replace('_', '-')}", role)
    response = httpx.request(method, server.url + concrete(path), json={}, headers=headers, timeout=5)
    assert response.status_code not in (401, 403), (role, response.text)


def test_a_bad_or_unknown_token_is_401(anonymous: httpx.Client) -> None:
    for header in ("Bearer nonsense", "Basic dXNlcjpwYXNz", "Token abc"):
        assert anonymous.get("/api/alerts", headers={"Authorization": header}).status_code == 401


def test_login_gives_a_bearer_token_and_a_strict_httponly_cookie(
    users: AccountStore, server: LiveServer
) -> None:
    response = login(server.url, "desk")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["username"], body["role"], body["token_type"]) == ("desk", "watch_desk", "bearer")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}={body['access_token']};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie

    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert httpx.get(f"{server.url}/api/alerts", headers=bearer, timeout=5).status_code == 200
    me = httpx.get(f"{server.url}/api/auth/me", headers=bearer, timeout=5).json()
    assert (me["username"], me["role"], me["csrf_token"]) == ("desk", "watch_desk", body["csrf_token"])


@pytest.mark.parametrize(("username", "password"), [("desk", "wrong password"), ("nobody", PASSWORD)])
def test_a_wrong_name_or_password_is_401_without_saying_which(
    users: AccountStore, server: LiveServer, username: str, password: str
) -> None:
    response = login(server.url, username, password)
    assert response.status_code == 401
    assert response.json()["detail"] == "wrong user name or password"
    assert "set-cookie" not in response.headers


def test_the_cookie_authenticates_reads_but_a_write_also_needs_the_csrf_header(
    users: AccountStore, server: LiveServer
) -> None:
    with httpx.Client(base_url=server.url, timeout=5) as browser:
        logged_in = browser.post("/api/auth/login", json={"username": "desk", "password": PASSWORD})
        csrf = logged_in.json()["csrf_token"]
        assert browser.get("/api/alerts").status_code == 200
        forged = browser.post("/api/custody", json={"person": "p1", "room": "r1", "legal_basis": "summons"})
        assert forged.status_code == 403
        assert CSRF_HEADER in forged.json()["detail"]
        wrong = browser.post("/api/auth/logout", headers={CSRF_HEADER: "0" * 64})
        assert wrong.status_code == 403
        done = browser.post("/api/custody", headers={CSRF_HEADER: csrf},
                            json={"person": "p1", "room": "r1", "legal_basis": "summons"})
        assert done.status_code == 201, done.text


def test_logout_revokes_the_token_and_clears_the_cookie(users: AccountStore, server: LiveServer) -> None:
    token = login(server.url, "desk").json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    out = httpx.post(f"{server.url}/api/auth/logout", headers=bearer, timeout=5)
    assert out.status_code == 204
    assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]
    again = httpx.get(f"{server.url}/api/alerts", headers=bearer, timeout=5)
    assert again.status_code == 401
    assert "log in again" in again.json()["detail"]


def test_an_expired_session_is_401(users: AccountStore, engine: Engine, server: LiveServer) -> None:
    # A session made twelve hours and a second ago (the default lifetime is one shift: 12 h).
    yesterday = AccountStore(engine, clock=lambda: __import__("time").time() - 12 * 3600 - 1)
    session = yesterday.login("desk", PASSWORD)
    assert session is not None
    response = httpx.get(f"{server.url}/api/alerts", headers={"Authorization": f"Bearer {session.token}"},
                         timeout=5)
    assert response.status_code == 401


def test_repeated_failed_logins_are_refused_with_429_even_with_the_right_password(
    users: AccountStore, serve: Serve
) -> None:
    server = serve(throttle=LoginThrottle(per_user=3, per_address=10, window_s=60))
    for _ in range(3):
        assert login(server.url, "desk", "guess guess").status_code == 401
    refused = login(server.url, "desk")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # Another account at the same desk still logs in: the address allowance is larger.
    assert login(server.url, "inv").status_code == 200


def test_disabling_a_user_or_resetting_their_password_ends_their_sessions(
    users: AccountStore, server: LiveServer, token_for: TokenFor
) -> None:
    admin = token_for("boss", Role.ADMIN)
    desk = {"Authorization": f"Bearer {login(server.url, 'desk').json()['access_token']}"}
    with httpx.Client(base_url=server.url, timeout=5, headers=admin) as client:
        reset = client.post("/api/users/desk/password", json={})
        assert reset.status_code == 200
        new_password = reset.json()["password"]
        assert len(new_password) >= 12
        assert httpx.get(f"{server.url}/api/alerts", headers=desk, timeout=5).status_code == 401
        assert login(server.url, "desk").status_code == 401
        desk = {"Authorization": f"Bearer {login(server.url, 'desk', new_password).json()['access_token']}"}

        disabled = client.patch("/api/users/desk", json={"disabled": True})
        assert disabled.status_code == 200 and disabled.json()["disabled"] is True
        assert httpx.get(f"{server.url}/api/alerts", headers=desk, timeout=5).status_code == 401
        assert login(server.url, "desk", new_password).status_code == 401

        assert client.patch("/api/users/desk", json={"disabled": False}).status_code == 200
        assert login(server.url, "desk", new_password).status_code == 200


def test_an_admin_manages_users_but_cannot_lock_themself_out(
    users: AccountStore, server: LiveServer, token_for: TokenFor
) -> None:
    with httpx.Client(base_url=server.url, timeout=5, headers=token_for("boss", Role.ADMIN)) as client:
        made = client.post("/api/users", json={"username": "wang", "role": "investigator",
                                               "password": "a long passphrase"})
        assert made.status_code == 201
        assert made.json()["password"] is None  # chosen by the admin, so not echoed
        assert client.post("/api/users", json={"username": "wang", "role": "admin"}).status_code == 409
        assert client.post("/api/users", json={"username": "Wang Wei", "role": "admin"}).status_code == 422
        assert client.post("/api/users", json={"username": "zhao", "role": "admin",
                                               "password": "short"}).status_code == 422
        listed = {u["username"]: u["role"] for u in client.get("/api/users").json()}
        assert listed["wang"] == "investigator"
        assert client.patch("/api/users/boss", json={"disabled": True}).status_code == 409
        assert client.patch("/api/users/boss", json={"role": "watch_desk"}).status_code == 409
        assert client.patch("/api/users/ghost", json={"disabled": True}).status_code == 404
    assert login(server.url, "wang", "a long passphrase").json()["role"] == "investigator"
