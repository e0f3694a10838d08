"""`custodywatch db upgrade|current` on an empty database of each backend, and on one it cannot use."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from pg_scratch import ADMIN_URL
from sqlalchemy import text
from sqlalchemy.engine import make_url
from tcp_proxy import TcpProxy

from custodywatch.cli import main
from custodywatch.paths import project_root
from custodywatch.store.db import ALEMBIC_INI, make_engine

SERVER_PORT = make_url(ADMIN_URL).port or 5432


def stored_revisions(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()


def test_upgrade_brings_an_empty_database_up_to_date_and_current_says_so(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUSTODYWATCH_DATABASE_URL", raising=False)

    assert main(["db", "current", "--database-url", db_url]) == 1
    out = capsys.readouterr().out
    assert "current: none" in out and "status: behind" in out and "custodywatch db upgrade" in out

    assert main(["db", "upgrade", "--database-url", db_url]) == 0
    heads = stored_revisions(db_url)
    assert heads == sorted(ScriptDirectory.from_config(AlembicConfig(str(ALEMBIC_INI))).get_heads())
    out = capsys.readouterr().out
    assert f"upgraded from an empty database to {', '.join(heads)}" in out

    assert main(["db", "current", "--database-url", db_url]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [f"current: {', '.join(heads)}", "status: up to date"]

    assert main(["db", "upgrade", "--database-url", db_url]) == 0
    assert f"already up to date at {', '.join(heads)}" in capsys.readouterr().out
    assert stored_revisions(db_url) == heads


def test_the_real_command_upgrades_the_database_the_config_file_names(
    backend: str, db_url: str, tmp_path: Path
) -> None:
    config = yaml.safe_load((project_root() / "cameras.yaml").read_text())
    config["store"] = {"database_url": db_url}
    config_file = tmp_path / "cameras.yaml"
    config_file.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if k != "CUSTODYWATCH_DATABASE_URL"}
    env["CUSTODYWATCH_DATA"] = str(tmp_path / "elsewhere")  # the default SQLite file must stay unused

    command = [sys.executable, "-m", "custodywatch.cli", "db", "upgrade", "--config", str(config_file)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert stored_revisions(db_url) != []
    assert not (tmp_path / "elsewhere").exists()
    shown = db_url if backend == "sqlite" else db_url.replace("postgres@", "***@")
    assert done.stdout.splitlines()[0] == f"database: {shown}"


PASSWORD = "s3cret-pw"
CANNOT_USE = [
    pytest.param(("upgrade", "current"), "refuse", "postgresql://postgres:{pw}@127.0.0.1:{port}/custodywatch",
                 "connection failed", id="server cut off"),
    pytest.param(("current",), "blackhole",
                 "postgresql://postgres:{pw}@127.0.0.1:{port}/custodywatch?connect_timeout=2", "timeout",
                 id="server never answers"),
    pytest.param(("upgrade", "current"), "refuse", "postgresql://postgres:{pw}@127.0.0.1:port-{port}/db",
                 "not a database URL", id="bad URL"),
    pytest.param(("upgrade",), "refuse", "mysql://root:{pw}@127.0.0.1:{port}/custodywatch",
                 "unsupported database 'mysql'", id="other database"),
]


@pytest.mark.parametrize(("commands", "mode", "url", "says"), CANNOT_USE)
def test_a_database_it_cannot_use_is_one_line_naming_it_without_the_password(
    commands: tuple[str, ...], mode: str, url: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with TcpProxy("127.0.0.1", SERVER_PORT, mode=mode) as proxy:
        proxy.cut()
        url = url.format(pw=PASSWORD, port=proxy.port)
        started = time.monotonic()
        for command in commands:
            assert main(["db", command, "--database-url", url]) == 2
            captured = capsys.readouterr()
            assert captured.out == ""
            lines = captured.err.splitlines()
            assert len(lines) == 1, captured.err
            assert lines[0].startswith(f"custodywatch: db: {url.split(':', 1)[0]}://***@127.0.0.1:")
            assert says in lines[0]
            assert PASSWORD not in captured.err
        assert time.monotonic() - started < 10


@pytest.mark.parametrize("argv", [
    pytest.param(["run", "--config", str(project_root() / "cameras.yaml"), "--port", "0"], id="run"),
    pytest.param(["user", "list"], id="user"),
    pytest.param(["hold", "list"], id="hold"),
])
def test_commands_that_open_the_store_name_a_database_they_cannot_reach(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CUSTODYWATCH_DATA", str(tmp_path / "data"))
    with TcpProxy("127.0.0.1", SERVER_PORT) as proxy:
        proxy.cut()
        url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{proxy.port}/custodywatch"
        monkeypatch.setenv("CUSTODYWATCH_DATABASE_URL", url)
        assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"postgresql://***@127.0.0.1:{proxy.port}/custodywatch: connection failed" in err
    assert PASSWORD not in err
