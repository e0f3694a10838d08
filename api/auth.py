"""Who is calling: a bearer token or the page's session cookie, checked against the store, and the
role each route needs.

Every `/api/` route except login depends on one of `WatchDesk`, `Investigator` or `Admin`: no
valid session → 401, a role below the one needed → 403. A cookie is sent by the browser on its own,
so a write authenticated by the cookie must also carry the session's CSRF token in a header, which
only a script of this origin can read (from the login answer or GET /api/auth/me).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from custodywatch.api.deps import ServicesDep
from custodywatch.store.accounts import Role, Session

SESSION_COOKIE = "cw_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token_for(token: str) -> str:
    # Derived from the session token, so nothing more is stored and it dies with the session.
    return hashlib.sha256(b"custodywatch-csrf:" + token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    username: str
    role: Role
    token: str
    via_cookie: bool
    expires_at: float

    @property
    def csrf_token(self) -> str:
        return csrf_token_for(self.token)


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def authenticate(request: Request, services: ServicesDep) -> Principal:
    """The caller's live session (sync: the store lookup runs in the thread pool)."""
    token = _bearer(request)
    via_cookie = token is None
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise unauthorized("log in first")
    session: Session | None = services.accounts.session(token)
    if session is None:
        raise unauthorized("the session has expired or was ended; log in again")
    principal = Principal(session.user.username, session.user.role, token, via_cookie, session.expires_at)
    if via_cookie and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if sent != principal.csrf_token:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"a write with the session cookie needs the {CSRF_HEADER} header")
    return principal


AnyUser = Annotated[Principal, Depends(authenticate)]


def require(role: Role) -> Callable[[Principal], Principal]:
    def check(principal: AnyUser) -> Principal:
        if not principal.role.allows(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {role.value} role")
        return principal

    check.__name__ = f"require_{role.value}"
    return check


WatchDesk = Annotated[Principal, Depends(require(Role.WATCH_DESK))]
Investigator = Annotated[Principal, Depends(require(Role.INVESTIGATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
