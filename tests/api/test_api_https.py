"""HTTPS with the certificate `custodywatch tls-cert` makes: the page and login work, and the
session cookie is then marked Secure."""
from __future__ import annotations

import os
import ssl
import stat
from pathlib import Path

import httpx
import pytest
from api_accounts import PASSWORD
from conftest import Serve

from custodywatch.cli import main
from custodywatch.config import ConfigError, parse_config
from custodywatch.store.accounts import AccountStore, Role


def test_a_self_signed_certificate_serves_the_page_and_a_secure_cookie(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], serve: Serve, accounts: AccountStore
) -> None:
    assert main(["tls-cert", "--out", str(tmp_path / "tls"), "--name", "127.0.0.1"]) == 0
    assert "tls_cert:" in capsys.readouterr().out
    cert, key = tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    accounts.add_user("li", Role.WATCH_DESK, PASSWORD)
    server = serve(tls=(str(cert), str(key)))
    assert server.url.startswith("https://")
    trusted = ssl.create_default_context(cafile=str(cert))  # the desk's browser, told to trust it
    with httpx.Client(base_url=server.url, verify=trusted, timeout=5) as browser:
        assert browser.get("/").status_code == 200
        login = browser.post("/api/auth/login", json={"username": "li", "password": PASSWORD})
        assert login.status_code == 200
        assert "Secure" in login.headers["set-cookie"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=5)  # an untrusted certificate is refused, as a browser warns


def test_a_certificate_without_its_key_is_a_config_error() -> None:
    text = """
rooms: [{id: corridor-1, type: corridor}]
cameras: [{id: cam-c1, room: corridor-1, detect_url: rtsp://10.0.0.1/x}]
api: {tls_cert: /etc/cw/cert.pem}
"""
    with pytest.raises(ConfigError) as error:
        parse_config(text, "cameras.yaml")
    assert "cameras.yaml:4: api: " in str(error.value) and "tls_key" in str(error.value)
