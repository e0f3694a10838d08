"""`custodywatch user ...`: accounts from the box's shell (the first admin is made here or by the
demo). Each command migrates the store first, so it works on a fresh data directory."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from custodywatch import paths
from custodywatch.store.accounts import AccountError, AccountStore, AuditLog, Role, generate_password

EXIT_USAGE = 2
ACTOR = "cli"  # who the audit log names for changes made at the box's shell


def _with_store(args: argparse.Namespace, action: Callable[[AccountStore, AuditLog], int]) -> int:
    from custodywatch.store.revisions import DatabaseError, open_store

    try:
        engine = open_store(paths.database_url(None, args.database_url))
    except DatabaseError as exc:
        print(f"custodywatch: user: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return action(AccountStore(engine), AuditLog(engine))
    except AccountError as exc:
        print(f"custodywatch: user: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        engine.dispose()


def cmd_add(args: argparse.Namespace) -> int:
    def add(accounts: AccountStore, audit: AuditLog) -> int:
        password = args.password or generate_password()
        user = accounts.add_user(args.name, Role(args.role), password)
        audit.append(ACTOR, "user_add", user.username, role=user.role.value)
        print(f"user {user.username} ({user.role.value}) added")
        if not args.password:
            print(f"password: {password}")
        return 0

    return _with_store(args, add)


def cmd_passwd(args: argparse.Namespace) -> int:
    def reset(accounts: AccountStore, audit: AuditLog) -> int:
        password = args.password or generate_password()
        accounts.set_password(args.name, password)
        audit.append(ACTOR, "user_password_reset", args.name)
        print(f"password of {args.name} reset; its sessions are ended")
        if not args.password:
            print(f"password: {password}")
        return 0

    return _with_store(args, reset)


def _set_disabled(disabled: bool) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        def change(accounts: AccountStore, audit: AuditLog) -> int:
            accounts.update_user(args.name, disabled=disabled)
            audit.append(ACTOR, "user_change", args.name, disabled=disabled)
            print(f"user {args.name} {'disabled' if disabled else 'enabled'}")
            return 0

        return _with_store(args, change)

    return command


def cmd_list(args: argparse.Namespace) -> int:
    def show(accounts: AccountStore, _audit: AuditLog) -> int:
        for user in accounts.users():
            print(f"{user.username}\t{user.role.value}\t{'disabled' if user.disabled else 'enabled'}")
        return 0

    return _with_store(args, show)


def cmd_tls_cert(args: argparse.Namespace) -> int:
    from custodywatch.api.tls import make_self_signed

    out = Path(args.out) if args.out else paths.data_dir() / "tls"
    names = args.name or ["localhost", "127.0.0.1"]
    cert, key = make_self_signed(out, names)
    print(f"certificate {cert} (for {', '.join(names)})\nkey {key}")
    print(f"serve HTTPS with: api: {{tls_cert: {cert}, tls_key: {key}}}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    s = sub.add_parser("tls-cert", help="make a self-signed HTTPS certificate for the page (at install)")
    s.add_argument("--out", help="directory for cert.pem and key.pem (default: $CUSTODYWATCH_DATA/tls)")
    s.add_argument("--name", action="append", help="host name or address the page is reached at (repeatable; "
                                                   "default: localhost and 127.0.0.1)")
    s.set_defaults(func=cmd_tls_cert)

    user = sub.add_parser("user", help="manage the accounts that log in to the page and the API")
    commands = user.add_subparsers(dest="user_command", required=True)
    db_help = "SQLAlchemy URL of the store (default: $CUSTODYWATCH_DATABASE_URL or the data dir's SQLite)"

    s = commands.add_parser("add", help="add an account; prints a generated password unless --password")
    s.add_argument("name")
    s.add_argument("--role", required=True, choices=[r.value for r in Role])
    s.add_argument("--password")
    s.set_defaults(func=cmd_add)

    s = commands.add_parser("passwd", help="reset a password (ends the user's sessions)")
    s.add_argument("name")
    s.add_argument("--password")
    s.set_defaults(func=cmd_passwd)

    s = commands.add_parser("disable", help="disable an account (ends its sessions)")
    s.add_argument("name")
    s.set_defaults(func=_set_disabled(True))

    s = commands.add_parser("enable", help="enable a disabled account")
    s.add_argument("name")
    s.set_defaults(func=_set_disabled(False))

    s = commands.add_parser("list", help="list the accounts")
    s.set_defaults(func=cmd_list)

    for parser in commands.choices.values():
        parser.add_argument("--database-url", help=db_help)


def ensure_first_admin(database_url: str, username: str = "admin") -> str | None:
    """Make an admin with a generated password when the store has no account yet; that password,
    or None when accounts exist already (their passwords are not recoverable, only resettable)."""
    from custodywatch.store.db import make_engine, migrate

    engine = make_engine(database_url)
    try:
        migrate(engine)
        accounts = AccountStore(engine)
        if accounts.user_count() > 0:
            return None
        password = generate_password()
        accounts.add_user(username, Role.ADMIN, password)
        AuditLog(engine).append(ACTOR, "user_add", username, role=Role.ADMIN.value, first_admin=True)
        return password
    finally:
        engine.dispose()
