"""Property-based calls of every operation in the OpenAPI spec (schemathesis, bounded examples),
as an admin: no input makes the server fail (5xx)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from api_accounts import TokenFor
from hypothesis import HealthCheck, settings
from schemathesis.schemas import BaseSchema
from sqlalchemy import Engine

from custodywatch.api.app import create_app
from custodywatch.api.events import EventHub
from custodywatch.store.accounts import Role
from custodywatch.store.alerts import AlertStore


@pytest.fixture
def api_schema(engine: Engine, store: AlertStore, hub: EventHub, tmp_path: Path) -> Iterator[BaseSchema]:
    app = create_app(store, hub, engine=engine, title="custodywatch schema test", data_dir=tmp_path / "data")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # The live feed never ends by itself: a stream is not a request-response operation to fuzz.
    yield schema.exclude(path="/api/events")


@pytest.fixture
def admin(token_for: TokenFor) -> dict[str, str]:
    """One admin session per operation: every example of it reuses the login."""
    return token_for("root", Role.ADMIN)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_server_fail(case: schemathesis.Case, admin: dict[str, str]) -> None:
    response = case.call(headers=admin)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"
