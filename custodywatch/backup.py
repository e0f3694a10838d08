"""Backup and restore of what makes a box itself: its database, its keys and its config.

The archive of recordings is not in it: it is large, append-only and verifiable on its own (copy it
with rsync; `custodywatch verify` proves the copy). The signatures of its chain heads are in it,
because they live outside the archive on purpose. A backup is one tar file with a manifest of
SHA-256 sums; restore checks every sum before it writes anything, and never overwrites a database
that holds data, or keys that differ, unless told to, and then keeps what it replaces.
"""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from custodywatch import paths
from custodywatch.config import redact_url
from custodywatch.store.db import make_engine, migrate

DB_SQLITE, DB_PGDUMP = "database.sqlite", "database.pgdump"
# Tables whose rows mean a database is in use (a restore over them would lose them).
DATA_TABLES = ("alerts", "users", "custody_records", "recording_records", "legal_holds", "audit_log")


class BackupError(RuntimeError):
    pass


@dataclass(frozen=True)
class BackupReport:
    path: Path
    members: list[str]
    database: str  # redacted URL


@dataclass(frozen=True)
class RestoreReport:
    database: str
    restored: list[str]
    kept_aside: list[Path]


def backup(out: Path, database_url: str, config_file: Path | None) -> BackupReport:
    if out.exists():
        raise BackupError(f"{out}: exists; choose a new file name")
    if config_file is not None and not config_file.is_file():
        raise BackupError(f"{config_file}: config file not found")
    data = paths.data_dir()
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp)
        _dump_database(database_url, stage)
        for name in ("keys", "signatures", "tls"):
            if (data / name).is_dir():
                shutil.copytree(data / name, stage / name)
        if config_file is not None:
            (stage / "config").mkdir()
            shutil.copy2(config_file, stage / "config" / config_file.name)
        files = sorted(f for f in stage.rglob("*") if f.is_file())
        manifest = {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": redact_url(database_url),
            "files": {str(f.relative_to(stage)): _sha256(f.read_bytes()) for f in files},
        }
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            body = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mtime, info.mode = len(body), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(body))
            for f in files:
                tar.add(f, arcname=str(f.relative_to(stage)))
        partial.chmod(0o600)  # it holds the private signing key
        partial.replace(out)
    return BackupReport(out, list(manifest["files"]), redact_url(database_url))


def restore(archive: Path, database_url: str, config_to: Path | None = None,
            force: bool = False) -> RestoreReport:
    if not archive.is_file():
        raise BackupError(f"{archive}: backup file not found")
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp)
        _unpack_verified(archive, stage)
        data = paths.data_dir()
        kept: list[Path] = []
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        # Check everything that could refuse before changing anything.
        in_use = _database_in_use(database_url)
        if in_use and not force:
            raise BackupError(f"{redact_url(database_url)}: the database holds data ({in_use}); "
                              "restore with --force to replace it (a copy is kept where possible)")
        for name in ("keys", "signatures", "tls"):
            differs = (stage / name).is_dir() and (data / name).is_dir() \
                and not _same_tree(stage / name, data / name)
            if differs and not force:
                raise BackupError(f"{data / name}: differs from the backup's {name}; restore with --force "
                                  "to replace it (the current one is kept aside)")
        if config_to is not None and config_to.exists() and not force and (stage / "config").is_dir():
            raise BackupError(f"{config_to}: exists; restore with --force to replace it (it is kept aside)")
        restored = []
        kept += _restore_database(stage, database_url, stamp)
        restored.append("database")
        for name in ("keys", "signatures", "tls"):
            if not (stage / name).is_dir():
                continue
            if (data / name).is_dir():
                if _same_tree(stage / name, data / name):
                    restored.append(name)
                    continue
                aside = data / f"{name}.replaced-{stamp}"
                (data / name).rename(aside)
                kept.append(aside)
            data.mkdir(parents=True, exist_ok=True)
            shutil.copytree(stage / name, data / name)
            if name == "keys":
                (data / name).chmod(0o700)
            restored.append(name)
        if config_to is not None and (stage / "config").is_dir():
            source = next((stage / "config").iterdir())
            if config_to.exists():
                aside = config_to.with_name(f"{config_to.name}.replaced-{stamp}")
                config_to.rename(aside)
                kept.append(aside)
            config_to.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, config_to)
            restored.append("config")
    # A backup from an older version comes back at its own schema; bring it to this one.
    engine = make_engine(database_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return RestoreReport(redact_url(database_url), restored, kept)


def _dump_database(url: str, stage: Path) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = Path(parsed.database or "")
        if not db.is_file():
            raise BackupError(f"{db}: database file not found")
        # The online backup API copies a consistent snapshot while the service keeps writing.
        src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        dst = sqlite3.connect(stage / DB_SQLITE)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    run = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(stage / DB_PGDUMP),
                          _libpq_url(url)], capture_output=True, text=True)
    if run.returncode != 0:
        raise BackupError(f"{redact_url(url)}: pg_dump failed: {run.stderr.strip()}")


def _restore_database(stage: Path, url: str, stamp: str) -> list[Path]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not (stage / DB_SQLITE).is_file():
            raise BackupError("the backup holds a PostgreSQL dump; restore it to a PostgreSQL database")
        db = Path(parsed.database or "")
        kept = []
        if db.exists():
            aside = db.with_name(f"{db.name}.replaced-{stamp}")
            shutil.copy2(db, aside)
            kept.append(aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        db.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(stage / DB_SQLITE, db)
        return kept
    if not (stage / DB_PGDUMP).is_file():
        raise BackupError("the backup holds a SQLite database; restore it to a SQLite URL")
    run = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                          "--dbname", _libpq_url(url), str(stage / DB_PGDUMP)],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise BackupError(f"{redact_url(url)}: pg_restore failed: {run.stderr.strip()}")
    return []


def _database_in_use(url: str) -> str:
    """Which data tables hold rows ('' when none, or when the database does not exist yet)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        return ""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            used = [t for t in DATA_TABLES if t in tables
                    and conn.execute(text(f"SELECT 1 FROM {t} LIMIT 1")).first() is not None]
    except Exception as exc:  # noqa: BLE001 - any failure to look is a reason to stop, with its text
        raise BackupError(f"{redact_url(url)}: cannot open the target database: {exc}") from None
    finally:
        engine.dispose()
    return ", ".join(used)


def _unpack_verified(archive: Path, stage: Path) -> None:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(stage, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{archive}: not a readable backup: {exc}") from None
    try:
        manifest = json.loads((stage / "manifest.json").read_text())
        files: dict[str, str] = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise BackupError(f"{archive}: no valid manifest.json: not a custodywatch backup") from None
    for name, digest in files.items():
        f = stage / name
        if not f.is_file():
            raise BackupError(f"{archive}: {name}: listed in the manifest but missing")
        if _sha256(f.read_bytes()) != digest:
            raise BackupError(f"{archive}: {name}: altered (SHA-256 does not match the manifest)")
    present = {str(f.relative_to(stage)) for f in stage.rglob("*") if f.is_file()}
    extra = present - set(files) - {"manifest.json"}
    if extra:
        raise BackupError(f"{archive}: {sorted(extra)[0]}: not in the manifest")


def _same_tree(a: Path, b: Path) -> bool:
    def listing(root: Path) -> dict[str, str]:
        return {str(f.relative_to(root)): _sha256(f.read_bytes()) for f in root.rglob("*") if f.is_file()}
    return listing(a) == listing(b)


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
