"""What a period report is computed from, read from the store: alerts that touch the period and
custody records that overlap it. Plain values, so the report itself is a pure function of them."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import sessionmaker

from custodywatch.rules.custody import CustodyRecord
from custodywatch.store.models import Alert
from custodywatch.store.rules_state import RulesStateStore


@dataclass(frozen=True)
class AlertFacts:
    id: str
    rule: str
    room: str
    camera: str
    severity: str  # the highest level reached
    condition_started_at: float
    fired_at: float
    ended_at: float | None
    acknowledged_at: float | None
    resolved_at: float | None
    state: str


@dataclass(frozen=True)
class PeriodData:
    start: float
    end: float
    alerts: list[AlertFacts]
    custody: list[CustodyRecord]


def read_period(engine: Engine, start: float, end: float) -> PeriodData:
    """Alerts fired in [start, end), whose condition still held at `start`, or not yet resolved by
    then (a shift hands those over), and custody records that overlap the period."""
    with sessionmaker(engine)() as db:
        rows = db.scalars(select(Alert).where(
            Alert.condition_started_at < end,
            or_(Alert.fired_at >= start, Alert.ended_at.is_(None), Alert.ended_at > start,
                Alert.resolved_at.is_(None), Alert.resolved_at > start))
            .order_by(Alert.fired_at, Alert.id)).all()
        alerts = [AlertFacts(a.id, a.rule, a.room, a.camera, a.severity, a.condition_started_at, a.fired_at,
                             a.ended_at, a.acknowledged_at, a.resolved_at, a.state) for a in rows]
    custody = [r for r in RulesStateStore(engine).custody_records(open_since=start) if r.check_in < end]
    return PeriodData(start, end, alerts, custody)
