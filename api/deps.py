"""What route handlers receive: the app's services, and who is acting."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from prometheus_client import CollectorRegistry

from custodywatch.api.events import EventHub
from custodywatch.api.schemas import HealthReport
from custodywatch.store.alerts import AlertStore


@dataclass(frozen=True)
class Services:
    store: AlertStore
    hub: EventHub
    health: Callable[[], HealthReport]
    metrics: CollectorRegistry


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def current_actor(x_operator: Annotated[str | None, Header(max_length=64)] = None) -> str:
    # Until login exists the page names its operator in a header; a token's user replaces this.
    return (x_operator or "").strip() or "watch-desk"


ServicesDep = Annotated[Services, Depends(get_services)]
ActorDep = Annotated[str, Depends(current_actor)]
