"""What the store hands out: typed, read-only views of alerts (also the API's response bodies).

Every timestamp is an ISO-8601 UTC datetime, with the same instant as epoch seconds beside it
(`<name>_epoch`) for clients that compute with time.
"""
from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, computed_field

from custodywatch.vocabulary import RuleId, Severity


def _as_utc(value: datetime) -> datetime:
    # Epoch numbers parse as UTC already; a datetime without a zone is taken to be UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


class AlertState(StrEnum):
    """The workflow: new → acknowledged → resolved (a new alert may be resolved directly)."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertChange(StrEnum):
    """What happened to an alert: a condition change from the rules, or an operator's action."""

    FIRED = "fired"
    ESCALATED = "escalated"
    ENDED = "ended"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class View(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class AlertHistoryView(View):
    at: UtcDatetime
    kind: AlertChange
    severity: Severity
    actor: str | None
    comment: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def at_epoch(self) -> float:
        return self.at.timestamp()


class AlertView(View):
    id: str
    site_id: str
    box_id: str
    rule: RuleId
    room: str
    camera: str
    severity: Severity
    detail: str
    active: bool
    condition_started_at: UtcDatetime
    fired_at: UtcDatetime
    ended_at: UtcDatetime | None
    state: AlertState
    acknowledged_by: str | None
    acknowledged_at: UtcDatetime | None
    resolved_by: str | None
    resolved_at: UtcDatetime | None
    comment: str | None
    false_positive: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime
    history: list[AlertHistoryView]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def condition_started_at_epoch(self) -> float:
        return self.condition_started_at.timestamp()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def fired_at_epoch(self) -> float:
        return self.fired_at.timestamp()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ended_at_epoch(self) -> float | None:
        return _epoch(self.ended_at)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def acknowledged_at_epoch(self) -> float | None:
        return _epoch(self.acknowledged_at)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def resolved_at_epoch(self) -> float | None:
        return _epoch(self.resolved_at)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def created_at_epoch(self) -> float:
        return self.created_at.timestamp()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def updated_at_epoch(self) -> float:
        return self.updated_at.timestamp()


class AlertPage(View):
    """One page of alerts, newest first, and how many match the filter in all."""

    items: list[AlertView]
    total: int
    limit: int
    offset: int


class AlertCount(View):
    rule: RuleId
    severity: Severity
    state: AlertState
    active: bool
    count: int
