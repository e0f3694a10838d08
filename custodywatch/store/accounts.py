"""Who may use the box, their sessions, and the audit log of what they did.

- `users`: one row per account; the password only as a scrypt hash (salt and cost inside it).
- `api_sessions`: one row per login. The bearer token itself is never stored, only its SHA-256,
  so a copy of the database does not let anyone in; a session ends when it expires or is revoked
  (logout, password reset, disabling the user).
- `audit_log`: append-only, hash-chained like the recording index: each entry's hash covers the
  previous entry's hash, so deleting or editing an entry breaks every hash after it.

Times are epoch seconds on the box's one clock, as everywhere in the store.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, ForeignKey, Index, String, Text, delete, func, select, update
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from custodywatch.store.db import for_writing, serialize_writers
from custodywatch.store.models import ACTOR_LENGTH, Base

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MIN_PASSWORD_LENGTH = 8
SESSION_TTL_S = 12 * 3600  # one shift
SESSION_KEEP_S = 7 * 86400  # how long an expired session's row is kept
GENESIS = "0" * 64

# scrypt at n=2**14, r=8 costs 16 MiB and ~50 ms per guess: slow for an attacker, quick for a login.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class Role(StrEnum):
    """Each role can do everything the ones before it can."""

    WATCH_DESK = "watch_desk"
    INVESTIGATOR = "investigator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class AccountError(Exception):
    """A request about accounts that cannot be done as asked; the message says why."""


class UserExists(AccountError):
    def __init__(self, username: str):
        super().__init__(f"user {username!r} already exists")


class UserNotFound(AccountError):
    def __init__(self, username: str):
        super().__init__(f"no user {username!r}")


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(ACTOR_LENGTH), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    disabled: Mapped[bool]
    created_at: Mapped[float]
    updated_at: Mapped[float]


class SessionRow(Base):
    __tablename__ = "api_sessions"
    __table_args__ = (Index("ix_api_sessions_user_id", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[float]
    expires_at: Mapped[float]
    revoked_at: Mapped[float | None]


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[float]
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)  # JSON object
    prev: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    disabled: bool
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class Session:
    user: User
    token: str
    expires_at: float


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]
    prev: str
    hash: str


# ---- passwords -------------------------------------------------------------------------------------

def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def _dummy_hash() -> str:
    # Checked against when the user does not exist, so a wrong name costs as long as a wrong
    # password and the timing does not tell which names exist.
    return hash_password(secrets.token_urlsafe(16))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_username(username: str) -> str:
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError(f"user name {username!r} must match {USERNAME_PATTERN.pattern} "
                           "(lower-case letters, digits, '.', '_', '-'; at most 64)")
    return username


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > 256:
        raise AccountError("the password must be at most 256 characters long")
    return password


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def _user(row: UserRow) -> User:
    return User(row.username, Role(row.role), row.disabled, row.created_at, row.updated_at)


class AccountStore:
    """Users and their sessions. Each call is one short transaction."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time,
                 session_ttl_s: float = SESSION_TTL_S) -> None:
        self._reads = sessionmaker(engine)
        self._writes = sessionmaker(for_writing(engine))
        self._clock = clock
        self.session_ttl_s = session_ttl_s

    # ---- users ---------------------------------------------------------------------------------

    def add_user(self, username: str, role: Role, password: str) -> User:
        check_username(username)
        check_password(password)
        now = self._clock()
        with self._writes.begin() as db:
            serialize_writers(db, UserRow.__tablename__)  # two adds of one name: the second is told
            if db.scalar(select(UserRow.id).where(UserRow.username == username)) is not None:
                raise UserExists(username)
            row = UserRow(username=username, role=role.value, password_hash=hash_password(password),
                          disabled=False, created_at=now, updated_at=now)
            db.add(row)
            db.flush()
            return _user(row)

    def users(self) -> list[User]:
        with self._reads() as db:
            return [_user(r) for r in db.scalars(select(UserRow).order_by(UserRow.username))]

    def user(self, username: str) -> User:
        with self._reads() as db:
            return _user(self._require(db, username))

    def user_count(self) -> int:
        with self._reads() as db:
            return db.scalar(select(func.count()).select_from(UserRow)) or 0

    def update_user(self, username: str, *, role: Role | None = None, disabled: bool | None = None) -> User:
        """Change a role or (dis)able an account. Disabling ends the user's sessions at once."""
        now = self._clock()
        with self._writes.begin() as db:
            row = self._require(db, username)
            if role is not None:
                row.role = role.value
            if disabled is not None:
                row.disabled = disabled
                if disabled:
                    self._revoke_all(db, row.id, now)
            row.updated_at = now
            return _user(row)

    def set_password(self, username: str, password: str) -> User:
        """Reset a password; every session of the user ends, so an old token stops working."""
        check_password(password)
        now = self._clock()
        with self._writes.begin() as db:
            row = self._require(db, username)
            row.password_hash = hash_password(password)
            row.updated_at = now
            self._revoke_all(db, row.id, now)
            return _user(row)

    # ---- sessions ------------------------------------------------------------------------------

    def login(self, username: str, password: str) -> Session | None:
        """A new session when the name and password match an enabled account, else None."""
        with self._reads() as db:
            row = db.scalars(select(UserRow).where(UserRow.username == username)).first()
            stored = row.password_hash if row is not None else _dummy_hash()
            if not verify_password(password, stored) or row is None or row.disabled:
                return None
            user_id, user = row.id, _user(row)
        token = secrets.token_urlsafe(32)
        now = self._clock()
        expires = now + self.session_ttl_s
        with self._writes.begin() as db:
            # Sessions long over are of no use to anyone (the audit log keeps the logins).
            db.execute(delete(SessionRow).where(SessionRow.expires_at < now - SESSION_KEEP_S))
            db.add(SessionRow(token_hash=token_hash(token), user_id=user_id, created_at=now,
                              expires_at=expires, revoked_at=None))
        return Session(user, token, expires)

    def session(self, token: str) -> Session | None:
        """The live session of a token: None when unknown, expired, revoked or its user disabled."""
        now = self._clock()
        with self._reads() as db:
            found = db.execute(
                select(SessionRow, UserRow).join(UserRow, SessionRow.user_id == UserRow.id)
                .where(SessionRow.token_hash == token_hash(token))).first()
            if found is None:
                return None
            row, user = found
            if row.revoked_at is not None or row.expires_at <= now or user.disabled:
                return None
            return Session(_user(user), token, row.expires_at)

    def logout(self, token: str) -> None:
        with self._writes.begin() as db:
            db.execute(update(SessionRow).where(SessionRow.token_hash == token_hash(token),
                                                SessionRow.revoked_at.is_(None))
                       .values(revoked_at=self._clock()))

    @staticmethod
    def _revoke_all(db: Any, user_id: int, now: float) -> None:
        db.execute(update(SessionRow).where(SessionRow.user_id == user_id, SessionRow.revoked_at.is_(None))
                   .values(revoked_at=now))

    @staticmethod
    def _require(db: Any, username: str) -> UserRow:
        row: UserRow | None = db.scalars(select(UserRow).where(UserRow.username == username)).first()
        if row is None:
            raise UserNotFound(username)
        return row


def _entry_hash(prev: str, at: float, actor: str, action: str, target: str | None, detail: str) -> str:
    body = json.dumps([prev, repr(at), actor, action, target, detail], ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(row.id, row.at, row.actor, row.action, row.target, json.loads(row.detail), row.prev,
                      row.hash)


class AuditLog:
    """Append-only: there is no call that changes or removes an entry."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._reads = sessionmaker(engine)
        self._writes = sessionmaker(for_writing(engine))
        self._clock = clock

    def append(self, actor: str, action: str, target: str | None = None, **detail: Any) -> AuditEntry:
        # Only one writer at a time (BEGIN IMMEDIATE on SQLite, the table lock on PostgreSQL), so two
        # writers cannot chain onto the same previous entry.
        with self._writes.begin() as db:
            serialize_writers(db, AuditRow.__tablename__)
            last = db.scalars(select(AuditRow.hash).order_by(AuditRow.id.desc()).limit(1)).first()
            prev = last or GENESIS
            at = self._clock()
            text = json.dumps(detail, sort_keys=True, ensure_ascii=False)
            row = AuditRow(at=at, actor=actor, action=action, target=target, detail=text, prev=prev,
                           hash=_entry_hash(prev, at, actor, action, target, text))
            db.add(row)
            db.flush()
            return _entry(row)

    def entries(
        self, *, actor: str | None = None, action: str | None = None, since: float | None = None,
        until: float | None = None, limit: int = 100, offset: int = 0,
    ) -> tuple[list[AuditEntry], int]:
        """Newest first, and how many match in all."""
        where = []
        if actor is not None:
            where.append(AuditRow.actor == actor)
        if action is not None:
            where.append(AuditRow.action == action)
        if since is not None:
            where.append(AuditRow.at >= since)
        if until is not None:
            where.append(AuditRow.at < until)
        with self._reads() as db:
            total = db.scalar(select(func.count()).select_from(AuditRow).where(*where)) or 0
            rows = db.scalars(select(AuditRow).where(*where).order_by(AuditRow.id.desc())
                              .limit(limit).offset(offset))
            return [_entry(r) for r in rows], total

    def verify(self) -> int | None:
        """The id of the first entry whose chain is broken, or None when the whole log is intact."""
        prev = GENESIS
        with self._reads() as db:
            for row in db.scalars(select(AuditRow).order_by(AuditRow.id)):
                expected = _entry_hash(prev, row.at, row.actor, row.action, row.target, row.detail)
                if row.prev != prev or row.hash != expected:
                    return row.id
                prev = row.hash
        return None
