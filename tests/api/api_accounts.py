"""Accounts the API tests log in with (a module of its own: every test folder has a conftest)."""
from __future__ import annotations

from collections.abc import Callable

from custodywatch.store.accounts import Role

PASSWORD = "correct horse battery"
OPERATOR = "officer-li"  # the watch-desk officer the `client` fixture is logged in as

# token_for(name, role): Authorization headers of a session of `name` (made with `role` if new).
TokenFor = Callable[[str, Role], dict[str, str]]
