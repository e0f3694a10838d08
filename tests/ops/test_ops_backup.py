"""Backup and restore of a box's database, keys and config, on SQLite and on PostgreSQL: what comes
back is what was there, a damaged backup changes nothing, and nothing in use is overwritten unasked."""
from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import text

from custodywatch.cli import main
from custodywatch.recorder.signing import PRIVATE_NAME, load_or_create_key
from custodywatch.store.accounts import AccountStore, Role
from custodywatch.store.db import make_engine, migrate

CONFIG = ("rooms:\n  - {id: corridor-1, type: corridor}\n"
          "cameras:\n  - {id: c1, room: corridor-1, detect_url: a.mp4}\n")


def seed(url: str, username: str) -> None:
    engine = make_engine(url)
    try:
        migrate(engine)
        AccountStore(engine).add_user(username, Role.ADMIN, "a long enough password")
    finally:
        engine.dispose()


def usernames(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(text("SELECT username FROM users")).scalars())
    finally:
        engine.dispose()


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("CUSTODYWATCH_DATA", str(data))
    monkeypatch.delenv("CUSTODYWATCH_DATABASE_URL", raising=False)
    return data


def test_sqlite_box_comes_back_whole_after_a_restore(box: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{box / 'custodywatch.db'}"
    seed(url, "alice")
    key = (load_or_create_key(), (box / "keys" / PRIVATE_NAME).read_bytes())[1]
    config = tmp_path / "cameras.yaml"
    config.write_text(CONFIG)
    backup = tmp_path / "box.tar.gz"
    assert main(["backup", "-o", str(backup), "--config", str(config)]) == 0
    assert (backup.stat().st_mode & 0o077) == 0  # it holds the private key

    # Restoring over the live database is refused, and changes nothing.
    seed(url, "bob")
    assert main(["restore", str(backup)]) == 2
    assert "holds data" in capsys.readouterr().err
    assert usernames(url) == ["alice", "bob"]

    # The box is lost; a new one gets everything back.
    shutil.rmtree(box)
    restored_config = tmp_path / "etc" / "cameras.yaml"
    assert main(["restore", str(backup), "--config-to", str(restored_config)]) == 0
    assert usernames(url) == ["alice"]
    assert (box / "keys" / PRIVATE_NAME).read_bytes() == key
    assert restored_config.read_text() == CONFIG


def test_force_keeps_what_it_replaces(box: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{box / 'custodywatch.db'}"
    seed(url, "alice")
    load_or_create_key()
    backup = tmp_path / "box.tar.gz"
    assert main(["backup", "-o", str(backup)]) == 0
    seed(url, "bob")
    assert main(["restore", str(backup), "--force"]) == 0
    assert usernames(url) == ["alice"]
    kept = list(box.glob("custodywatch.db.replaced-*"))
    assert len(kept) == 1 and usernames(f"sqlite:///{kept[0]}") == ["alice", "bob"]


def test_a_damaged_backup_is_refused_naming_the_file(box: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{box / 'custodywatch.db'}"
    seed(url, "alice")
    load_or_create_key()
    backup = tmp_path / "box.tar.gz"
    assert main(["backup", "-o", str(backup)]) == 0
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(backup) as src, tarfile.open(damaged, "w:gz") as dst:
        for member in src.getmembers():
            f = src.extractfile(member)
            body = f.read() if f else b""
            if member.name == f"keys/{PRIVATE_NAME}":
                body = body.replace(b"PRIVATE", b"PRIVATX")
            member.size = len(body)
            dst.addfile(member, io.BytesIO(body))
    shutil.rmtree(box)
    assert main(["restore", str(damaged)]) == 2
    assert f"keys/{PRIVATE_NAME}: altered" in capsys.readouterr().err
    assert not box.exists()  # nothing was written
    assert main(["restore", str(tmp_path / "nope.tar.gz")]) == 2
    assert main(["backup", "-o", str(backup)]) == 2  # never overwrites a backup
    assert "exists" in capsys.readouterr().err


def test_postgresql_database_round_trips(box: Path, tmp_path: Path, pg_databases) -> None:
    source, target = pg_databases.url(), pg_databases.url()
    seed(source, "carol")
    load_or_create_key()
    backup = tmp_path / "pg.tar.gz"
    assert main(["backup", "-o", str(backup), "--database-url", source]) == 0
    assert main(["restore", str(backup), "--database-url", target]) == 0
    assert usernames(target) == ["carol"]
    # A PostgreSQL dump does not go into a SQLite file by mistake.
    assert main(["restore", str(backup), "--database-url", f"sqlite:///{tmp_path / 'x.db'}", "--force"]) == 2
