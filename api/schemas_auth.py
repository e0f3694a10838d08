"""Request and response bodies of login, users and the audit log."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from custodywatch.store.accounts import AuditEntry, Role, User
from custodywatch.store.views import UtcDatetime


def at_utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


GENERATED = "Generated (and returned once) if left out."


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    username: str
    role: Role
    expires_at: UtcDatetime
    csrf_token: str = Field(description="Send as X-CSRF-Token with writes authenticated by the cookie.")


class LoginResponse(Me):
    access_token: str
    token_type: str = "bearer"


class UserView(BaseModel):
    username: str
    role: Role
    disabled: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(username=user.username, role=user.role, disabled=user.disabled,
                   created_at=at_utc(user.created_at), updated_at=at_utc(user.updated_at))


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    role: Role
    password: str | None = Field(None, max_length=256, description=GENERATED)


class UserChange(BaseModel):
    role: Role | None = None
    disabled: bool | None = None


class PasswordReset(BaseModel):
    password: str | None = Field(None, max_length=256, description=GENERATED)


class UserWithPassword(BaseModel):
    user: UserView
    password: str | None = Field(None, description="The generated password; shown only this once.")


class AuditEntryView(BaseModel):
    id: int
    at: UtcDatetime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]
    hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryView:
        return cls(id=entry.id, at=at_utc(entry.at), actor=entry.actor, action=entry.action,
                   target=entry.target, detail=entry.detail, hash=entry.hash)


class AuditQuery(BaseModel):
    actor: str | None = Field(None, max_length=64)
    action: str | None = Field(None, max_length=32)
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0)


class AuditPage(BaseModel):
    items: list[AuditEntryView]
    total: int
    limit: int
    offset: int
    intact: bool = Field(description="Whether the whole log's hash chain verifies.")
    first_broken_id: int | None = None
