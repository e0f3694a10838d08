"""Every shell command that works on the store, pointed at a database it cannot reach, says so in
one line naming the command and the database (its password hidden) and exits 2: an engineer on
call reads the cause, not a traceback."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from custodywatch.cli import main

COMMANDS = {
    "user": ["user", "list"],
    "hold": ["hold", "list"],
    "maintenance": ["maintenance", "list"],
    "report": ["report", "--from", "2026-11-01T00:00Z", "--to", "2026-11-02T00:00Z", "-o", "{out}"],
    "db": ["db", "upgrade"],
}


def closed_port() -> int:
    """A local port nothing listens on: connections to it are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("where", ["postgresql refused", "sqlite in a directory that is a file"])
def test_an_unreachable_database_is_one_clear_line_and_exit_2(
    command: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if where == "postgresql refused":
        url = f"postgresql://desk:s3cret@127.0.0.1:{closed_port()}/custody"
        shown, cause = "postgresql://***@127.0.0.1:", "refused"
    else:
        (tmp_path / "not-a-dir").write_text("a file where the database's directory should be")
        url = f"sqlite:///{tmp_path / 'not-a-dir' / 'custodywatch.db'}"
        shown, cause = str(tmp_path / "not-a-dir"), ""
    args = [a.format(out=tmp_path / "report.csv") for a in COMMANDS[command]]
    assert main([*args, "--database-url", url]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("custodywatch: ") and shown in lines[0], lines[0]
    assert cause in lines[0].lower()
    assert "s3cret" not in err
    assert not (tmp_path / "report.csv").exists()
