"""The one writer path for alerts: rule events in, operator actions in, typed views out.

Each call is one short transaction. Write transactions take SQLite's write lock at BEGIN, so the
analytics process (rule events) and the API process (operator actions) queue for each other rather
than fail. Every change also queues its push to the live feed in its own transaction
(`store.feed`), so a change committed is pushed even if the process that made it dies first.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from custodywatch.rules.events import AlertEvent
from custodywatch.store.db import for_writing
from custodywatch.store.feed import queue_alert_change
from custodywatch.store.models import Alert, AlertHistory
from custodywatch.store.outbox import record_alert
from custodywatch.store.views import AlertChange, AlertCount, AlertPage, AlertState, AlertView
from custodywatch.vocabulary import RuleId, Severity


class AlertStoreError(Exception):
    pass


class AlertNotFound(AlertStoreError):
    def __init__(self, alert_id: str):
        self.alert_id = alert_id
        super().__init__(f"no alert {alert_id!r}")


class InvalidTransition(AlertStoreError):
    """The alert's current state does not allow the requested change."""


class AlertStore:
    def __init__(
        self, engine: Engine, site_id: str, box_id: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._reads = sessionmaker(engine)
        self._writes = sessionmaker(for_writing(engine))
        self._site_id = site_id
        self._box_id = box_id
        self._clock = clock

    # ---- condition changes from the rules ------------------------------------------------------

    def apply(self, event: AlertEvent) -> AlertView:
        """Record a rule event. Applying an event that is already recorded changes nothing."""
        with self._writes.begin() as session:
            alert = session.get(Alert, event.alert_id, with_for_update=True)
            known = 0 if alert is None else len(alert.history)
            if event.kind == "fired":
                if alert is None:
                    alert = self._insert(session, event)
            elif alert is None:
                raise AlertNotFound(event.alert_id)
            elif event.kind == "escalated":
                self._escalate(alert, event)
            else:
                self._end(alert, event)
            if len(alert.history) > known:  # a replayed event changes nothing, so is not pushed again
                queue_alert_change(session, self._box_id, alert.id, event.kind, self._clock())
                record_alert(session, alert, self._clock())
            return AlertView.model_validate(alert)

    def _insert(self, session: Session, event: AlertEvent) -> Alert:
        now = self._clock()
        alert = Alert(
            id=event.alert_id, site_id=self._site_id, box_id=self._box_id,
            rule=event.rule.value, room=event.room, camera=event.camera,
            severity=event.severity.value, detail=event.detail,
            active=True, condition_started_at=event.condition_started_at, fired_at=event.at, ended_at=None,
            state=AlertState.NEW.value, acknowledged_by=None, acknowledged_at=None,
            resolved_by=None, resolved_at=None, comment=None, false_positive=False,
            created_at=now, updated_at=now,
        )
        alert.history.append(_entry(AlertChange.FIRED, event.at, alert.severity))
        session.add(alert)
        return alert

    def _escalate(self, alert: Alert, event: AlertEvent) -> None:
        # A rule may escalate more than once (overstay warns at several lead times), so a replay
        # is recognised by its time, not by the severity reached.
        if any(h.kind == AlertChange.ESCALATED and h.at == event.at for h in alert.history):
            return
        if not alert.active:
            raise InvalidTransition(f"alert {alert.id!r} has ended; it cannot escalate")
        alert.severity = event.severity.value
        alert.detail = event.detail or alert.detail
        alert.updated_at = self._clock()
        alert.history.append(_entry(AlertChange.ESCALATED, event.at, alert.severity))

    def _end(self, alert: Alert, event: AlertEvent) -> None:
        if not alert.active:
            return
        alert.active = False
        alert.ended_at = event.at
        alert.updated_at = self._clock()
        alert.history.append(_entry(AlertChange.ENDED, event.at, alert.severity))

    # ---- the operators' workflow ---------------------------------------------------------------

    def acknowledge(self, alert_id: str, by: str) -> AlertView:
        with self._writes.begin() as session:
            alert = _require(session, alert_id, for_update=True)
            if alert.state != AlertState.NEW:
                raise InvalidTransition(
                    f"alert {alert_id!r} is {alert.state}; only a new alert can be acknowledged"
                )
            now = self._clock()
            alert.state = AlertState.ACKNOWLEDGED.value
            alert.acknowledged_by = by
            alert.acknowledged_at = now
            alert.updated_at = now
            alert.history.append(_entry(AlertChange.ACKNOWLEDGED, now, alert.severity, actor=by))
            queue_alert_change(session, self._box_id, alert_id, AlertChange.ACKNOWLEDGED.value, now)
            record_alert(session, alert, now)
            return AlertView.model_validate(alert)

    def resolve(
        self, alert_id: str, by: str, comment: str = "", *, false_positive: bool = False
    ) -> AlertView:
        """Close the workflow. While the condition still holds, the operator must say why."""
        comment = comment.strip()
        with self._writes.begin() as session:
            alert = _require(session, alert_id, for_update=True)
            if alert.state == AlertState.RESOLVED:
                raise InvalidTransition(f"alert {alert_id!r} is already resolved")
            if alert.active and not comment:
                raise InvalidTransition(f"alert {alert_id!r} is still active; resolving it needs a comment")
            now = self._clock()
            alert.state = AlertState.RESOLVED.value
            alert.resolved_by = by
            alert.resolved_at = now
            alert.comment = comment or None
            alert.false_positive = false_positive
            alert.updated_at = now
            alert.history.append(
                _entry(AlertChange.RESOLVED, now, alert.severity, actor=by, comment=comment or None)
            )
            queue_alert_change(session, self._box_id, alert_id, AlertChange.RESOLVED.value, now)
            record_alert(session, alert, now)
            return AlertView.model_validate(alert)

    # ---- reading -------------------------------------------------------------------------------

    def get(self, alert_id: str) -> AlertView:
        with self._reads() as session:
            return AlertView.model_validate(_require(session, alert_id))

    @property
    def box_id(self) -> str:
        return self._box_id

    def unacknowledged(self, limit: int) -> list[tuple[str, float]]:
        """(id, fire time) of this box's alerts nobody has acknowledged yet, newest first: cheap
        enough to poll every few seconds however many there are (no history, no views)."""
        query = (select(Alert.id, Alert.fired_at)
                 .where(Alert.state == AlertState.NEW.value, Alert.box_id == self._box_id)
                 .order_by(Alert.fired_at.desc(), Alert.id.desc()).limit(limit))
        with self._reads() as session:
            return [(alert_id, fired_at) for alert_id, fired_at in session.execute(query)]

    def counts(self) -> list[AlertCount]:
        """How many alerts there are per rule, severity, state and condition (for metrics)."""
        query = select(Alert.rule, Alert.severity, Alert.state, Alert.active, func.count()).group_by(
            Alert.rule, Alert.severity, Alert.state, Alert.active
        )
        with self._reads() as session:
            return [
                AlertCount(rule=RuleId(rule), severity=Severity(severity), state=AlertState(state),
                           active=active, count=count)
                for rule, severity, state, active, count in session.execute(query)
            ]

    def list(
        self,
        *,
        room: str | None = None,
        rule: RuleId | None = None,
        severity: Severity | None = None,
        state: AlertState | None = None,
        active: bool | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
        site: str | None = None,
        box: str | None = None,
    ) -> AlertPage:
        """Alerts newest first; `since` (inclusive) and `until` (exclusive) bound the fire time."""
        where: list[ColumnElement[bool]] = []
        for column, value in ((Alert.room, room), (Alert.rule, rule), (Alert.severity, severity),
                              (Alert.state, state), (Alert.site_id, site), (Alert.box_id, box)):
            if value is not None:
                where.append(column == value)
        if active is not None:
            where.append(Alert.active.is_(active))
        if since is not None:
            where.append(Alert.fired_at >= since.timestamp())
        if until is not None:
            where.append(Alert.fired_at < until.timestamp())
        page = (
            select(Alert).where(*where).order_by(Alert.fired_at.desc(), Alert.id.desc())
            .limit(limit).offset(offset).options(selectinload(Alert.history))
        )
        with self._reads() as session:
            total = session.scalar(select(func.count()).select_from(Alert).where(*where)) or 0
            items = [AlertView.model_validate(a) for a in session.scalars(page)]
        return AlertPage(items=items, total=total, limit=limit, offset=offset)


def _require(session: Session, alert_id: str, *, for_update: bool = False) -> Alert:
    # A writer locks the row (PostgreSQL; SQLite has one writer anyway) so that it checks the state
    # another writer's commit left, not the one it read before: two operators acknowledging at once
    # get one acknowledgement and one refusal, never two history entries.
    alert = session.get(Alert, alert_id, with_for_update=True if for_update else None)
    if alert is None:
        raise AlertNotFound(alert_id)
    return alert


def _entry(
    kind: AlertChange, at: float, severity: str, *, actor: str | None = None, comment: str | None = None
) -> AlertHistory:
    return AlertHistory(kind=kind.value, at=at, severity=severity, actor=actor, comment=comment)
