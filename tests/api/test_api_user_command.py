"""`custodywatch user ...` at the box's shell, and logging in with what it made."""
from __future__ import annotations

import httpx
import pytest
from live_server import LiveServer

from custodywatch.cli import main


def run(capsys: pytest.CaptureFixture[str], db_url: str, *args: str) -> tuple[int, str, str]:
    code = main(["user", *args, "--database-url", db_url])
    out, err = capsys.readouterr()
    return code, out, err


def test_user_add_makes_an_account_that_logs_in_with_the_printed_password(
    capsys: pytest.CaptureFixture[str], db_url: str, server: LiveServer
) -> None:
    code, out, _ = run(capsys, db_url, "add", "chen", "--role", "investigator")
    assert code == 0
    password = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("password: "))
    response = httpx.post(f"{server.url}/api/auth/login", json={"username": "chen", "password": password},
                          timeout=5)
    assert response.status_code == 200
    assert response.json()["role"] == "investigator"

    assert run(capsys, db_url, "disable", "chen")[0] == 0
    assert httpx.post(f"{server.url}/api/auth/login", json={"username": "chen", "password": password},
                      timeout=5).status_code == 401
    assert run(capsys, db_url, "list")[1] == "chen\tinvestigator\tdisabled\n"


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["add", "Chen Wei", "--role", "admin"], "user name 'Chen Wei'"),
        (["add", "chen", "--role", "admin", "--password", "short"], "at least 8 characters"),
        (["passwd", "nobody", "--password", "long enough"], "no user 'nobody'"),
        (["disable", "nobody"], "no user 'nobody'"),
    ],
)
def test_bad_input_exits_2_naming_what_is_wrong(
    capsys: pytest.CaptureFixture[str], db_url: str, args: list[str], names: str
) -> None:
    code, _, err = run(capsys, db_url, *args)
    assert code == 2
    assert names in err


def test_adding_a_name_twice_exits_2(capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    assert run(capsys, db_url, "add", "chen", "--role", "admin", "--password", "long enough")[0] == 0
    code, _, err = run(capsys, db_url, "add", "chen", "--role", "admin", "--password", "long enough")
    assert code == 2 and "already exists" in err


def test_an_unknown_role_exits_2(capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["user", "add", "chen", "--role", "janitor", "--database-url", db_url])
    assert exited.value.code == 2
    assert "invalid choice: 'janitor'" in capsys.readouterr().err
