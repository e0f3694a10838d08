"""The audit log (admin only): who did what when, newest first, and whether its hash chain holds."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from custodywatch.api.auth import Admin
from custodywatch.api.deps import ServicesDep
from custodywatch.api.schemas_auth import AuditEntryView, AuditPage, AuditQuery

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def audit_log(services: ServicesDep, _admin: Admin, query: Annotated[AuditQuery, Query()]) -> AuditPage:
    entries, total = services.audit.entries(
        actor=query.actor, action=query.action,
        since=None if query.since is None else query.since.timestamp(),
        until=None if query.until is None else query.until.timestamp(),
        limit=query.limit, offset=query.offset)
    broken = services.audit.verify()
    return AuditPage(items=[AuditEntryView.of(e) for e in entries], total=total, limit=query.limit,
                     offset=query.offset, intact=broken is None, first_broken_id=broken)
