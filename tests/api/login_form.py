"""The page's login form, filled in and sent as a person would, for the browser tests."""
from __future__ import annotations

import json

from api_accounts import PASSWORD
from cdp import Page


def submit_login(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sends the login form once it shows; the password is the test accounts' unless given."""
    page.wait_for("!document.getElementById('login-view').hidden", what="the login form")
    page.evaluate(f"""
        document.getElementById('login-username').value = {json.dumps(username)};
        document.getElementById('login-password').value = {json.dumps(password)};
        document.getElementById('login-form').requestSubmit();""")
