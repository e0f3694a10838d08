"""Users (admin only): list, add, change role, disable or enable, reset a password. Each change is
audited; disabling and resetting end the user's sessions at once."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from custodywatch.api.auth import Admin
from custodywatch.api.deps import ServicesDep
from custodywatch.api.schemas import ErrorBody
from custodywatch.api.schemas_auth import NewUser, PasswordReset, UserChange, UserView, UserWithPassword
from custodywatch.store.accounts import AccountError, UserExists, UserNotFound, generate_password

router = APIRouter(prefix="/api/users", tags=["users"])

Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"model": ErrorBody, "description": "No such user."}}
BAD: Responses = {422: {"model": ErrorBody, "description": "The name or password is not acceptable."}}


def _refuse(exc: AccountError) -> HTTPException:
    code = status.HTTP_422_UNPROCESSABLE_CONTENT
    if isinstance(exc, UserNotFound):
        code = status.HTTP_404_NOT_FOUND
    elif isinstance(exc, UserExists):
        code = status.HTTP_409_CONFLICT
    return HTTPException(code, str(exc))


@router.get("", response_model=list[UserView])
def list_users(services: ServicesDep, _admin: Admin) -> list[UserView]:
    return [UserView.of(u) for u in services.accounts.users()]


@router.post("", response_model=UserWithPassword, status_code=status.HTTP_201_CREATED,
             responses={**BAD, 409: {"model": ErrorBody, "description": "The name is taken."}})
def add_user(services: ServicesDep, admin: Admin, body: NewUser) -> UserWithPassword:
    password = body.password or generate_password()
    try:
        user = services.accounts.add_user(body.username, body.role, password)
    except AccountError as exc:
        raise _refuse(exc) from exc
    services.audit.append(admin.username, "user_add", user.username, role=user.role.value)
    return UserWithPassword(user=UserView.of(user), password=None if body.password else password)


@router.patch("/{username}", response_model=UserView, responses={
    **NOT_FOUND, 409: {"model": ErrorBody, "description": "An admin cannot lock themself out."}})
def change_user(services: ServicesDep, admin: Admin, username: str, body: UserChange) -> UserView:
    if username == admin.username and (body.disabled or (body.role is not None and body.role != admin.role)):
        # Otherwise the last admin could leave the box with nobody able to manage it.
        raise HTTPException(status.HTTP_409_CONFLICT, "you cannot disable or demote your own account")
    try:
        user = services.accounts.update_user(username, role=body.role, disabled=body.disabled)
    except AccountError as exc:
        raise _refuse(exc) from exc
    services.audit.append(admin.username, "user_change", username,
                          **body.model_dump(mode="json", exclude_none=True))
    return UserView.of(user)


@router.post("/{username}/password", response_model=UserWithPassword, responses={**NOT_FOUND, **BAD})
def reset_password(
    services: ServicesDep, admin: Admin, username: str, body: PasswordReset
) -> UserWithPassword:
    password = body.password or generate_password()
    try:
        user = services.accounts.set_password(username, password)
    except AccountError as exc:
        raise _refuse(exc) from exc
    services.audit.append(admin.username, "user_password_reset", username)
    return UserWithPassword(user=UserView.of(user), password=None if body.password else password)
