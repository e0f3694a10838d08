"""Escalations waiting (watch desk): alerts left unacknowledged past the re-notify interval. The live
feed announces them to open pages; this is how a page opened later, e.g. by the duty officer they
were escalated to, finds them."""
from __future__ import annotations

from fastapi import APIRouter

from custodywatch.api.auth import WatchDesk
from custodywatch.api.deps import ServicesDep
from custodywatch.api.escalation import Escalation

router = APIRouter(prefix="/api/escalations", tags=["escalations"])


@router.get("", response_model=list[Escalation])
def pending_escalations(services: ServicesDep, user: WatchDesk, mine: bool = False) -> list[Escalation]:
    """Newest first; `mine`: only those escalated to the caller by name."""
    if services.escalator is None:
        return []
    pending = services.escalator.pending()
    return [e for e in pending if not mine or user.username in e.notify]
