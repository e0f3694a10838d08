"""What route handlers receive: the app's services. Who is acting comes from `api.auth`."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from custodywatch.api.escalation import Escalator
from custodywatch.api.events import EventHub
from custodywatch.api.exports import ExportJobs
from custodywatch.api.reanalysis import ReanalysisJobs
from custodywatch.api.schemas import HealthReport
from custodywatch.api.throttle import LoginThrottle
from custodywatch.config import Config
from custodywatch.config_reload import ConfigReloader
from custodywatch.store.accounts import AccountStore, AuditLog
from custodywatch.store.alerts import AlertStore
from custodywatch.store.rules_state import RulesStateStore


@dataclass(frozen=True)
class Services:
    store: AlertStore
    engine: Engine  # the store's database, for the stores that take one (recorder catalog)
    hub: EventHub
    health: Callable[[], HealthReport]
    metrics: CollectorRegistry
    accounts: AccountStore
    audit: AuditLog
    throttle: LoginThrottle
    rules_state: RulesStateStore
    exports: ExportJobs  # kept in the store (`engine`)
    # What the box is configured with; None in tests that serve only the store.
    config: Config | None = None
    # Where the recorder writes: `archive_dir` (segments and index.jsonl), and the data directory
    # (clips/<alert id>/, keys/, signatures/); the API also keeps playback cuts and exports there.
    archive_dir: Path | None = None
    data_dir: Path | None = None
    # Re-announces unacknowledged alerts; also answers who has escalations waiting (None: never).
    escalator: Escalator | None = None
    # Re-analyses of stored footage the page started (kept in the store, run one at a time).
    reanalysis: ReanalysisJobs | None = None
    # Reloads the config file the service was started with; None: started without one (tests).
    reloader: ConfigReloader | None = None


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
