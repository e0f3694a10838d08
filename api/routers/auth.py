"""Log in (the one public /api/ route), log out, and who am I.

Login answers a bearer token and sets the same token as an HttpOnly, SameSite=Strict cookie for
the page (its EventSource cannot send headers). Logout revokes the session server-side, so a copy
of the token stops working too.
"""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from custodywatch.api.auth import SESSION_COOKIE, AnyUser, csrf_token_for
from custodywatch.api.deps import ServicesDep
from custodywatch.api.schemas import ErrorBody
from custodywatch.api.schemas_auth import LoginRequest, LoginResponse, Me, at_utc
from custodywatch.store.accounts import Session

router = APIRouter(prefix="/api/auth", tags=["auth"])

WRONG = "wrong user name or password"


@router.post(
    "/login",
    response_model=LoginResponse,
    responses={401: {"model": ErrorBody, "description": WRONG},
               429: {"model": ErrorBody, "description": "Too many failed logins; see Retry-After."}},
)
def login(services: ServicesDep, body: LoginRequest, request: Request, response: Response) -> LoginResponse:
    address = request.client.host if request.client else "unknown"
    wait = services.throttle.retry_after(body.username, address)
    if wait is not None:
        services.audit.append(body.username, "login_throttled", None, address=address)
        message = f"too many failed logins; try again in {wait} s"
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, message, headers={"Retry-After": str(wait)})
    session: Session | None = services.accounts.login(body.username, body.password)
    if session is None:
        services.throttle.failed(body.username, address)
        services.audit.append(body.username, "login_failed", None, address=address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, WRONG, headers={"WWW-Authenticate": "Bearer"})
    services.throttle.succeeded(body.username)
    services.audit.append(session.user.username, "login", None, address=address)
    response.set_cookie(SESSION_COOKIE, session.token, max_age=int(services.accounts.session_ttl_s),
                        path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return LoginResponse(username=session.user.username, role=session.user.role,
                         expires_at=at_utc(session.expires_at),
                         csrf_token=csrf_token_for(session.token), access_token=session.token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def logout(services: ServicesDep, principal: AnyUser) -> Response:
    services.accounts.logout(principal.token)
    services.audit.append(principal.username, "logout")
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/me", response_model=Me)
def me(principal: AnyUser) -> Me:
    return Me(username=principal.username, role=principal.role,
              expires_at=at_utc(principal.expires_at),
              csrf_token=principal.csrf_token)
