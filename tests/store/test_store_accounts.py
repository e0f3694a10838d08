"""What a copy of the database gives away: neither passwords nor usable session tokens."""
from __future__ import annotations

from functools import partial

from at_once import run_at_once
from sqlalchemy import Engine, text

from custodywatch.store.accounts import AccountStore, AuditLog, Role, hash_password, verify_password
from custodywatch.store.db import make_engine


def test_passwords_are_salted_scrypt_hashes_that_verify(engine: Engine) -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second, "salted"
    assert first.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse", first) and not verify_password("correct horsE", first)
    assert not verify_password("correct horse", "md5$whatever")


def test_the_database_holds_neither_the_password_nor_the_token(engine: Engine) -> None:
    accounts = AccountStore(engine)
    accounts.add_user("li", Role.WATCH_DESK, "a long passphrase")
    session = accounts.login("li", "a long passphrase")
    assert session is not None
    with engine.connect() as connection:
        dump = "\n".join(str(row) for table in ("users", "api_sessions")
                         for row in connection.execute(text(f"SELECT * FROM {table}")))
    assert "a long passphrase" not in dump
    assert session.token not in dump
    assert accounts.session(session.token) is not None


def test_the_audit_chain_verifies_until_an_entry_is_deleted(engine: Engine) -> None:
    audit = AuditLog(engine)
    for action in ("login", "view_clip", "export_start"):
        audit.append("li", action, "a1")
    assert audit.verify() is None
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE action = 'view_clip'"))
    broken = audit.verify()
    assert broken is not None
    assert [e.action for e in audit.entries()[0] if e.id == broken] == ["export_start"]


def test_two_processes_appending_at_once_keep_one_unbroken_chain(engine: Engine, db_url: str) -> None:
    # The API and a `custodywatch user` command each write the log through their own engine.
    other_engine = make_engine(db_url)
    writers = [AuditLog(engine), AuditLog(other_engine)]
    n = 25

    def append_all(audit: AuditLog, actor: str) -> None:
        for i in range(n):
            audit.append(actor, "view_clip", f"a{i}")

    try:
        errors = run_at_once(*(partial(append_all, w, f"op{k}") for k, w in enumerate(writers)))
    finally:
        other_engine.dispose()
    assert errors == []
    entries, total = writers[0].entries(limit=1000)
    assert total == 2 * n
    assert len({e.prev for e in entries}) == 2 * n, "no two entries chain onto the same one"
    assert writers[0].verify() is None
