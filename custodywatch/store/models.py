"""ORM tables of the alert store.

Times are epoch seconds (UTC) as floats, the box's one clock: AlertEvent times are stored exactly
as the rules produced them, so re-applying an event compares equal. Enumerated values (rule,
severity, state, history kind) are stored as their string values; views type them.
"""
from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ID_LENGTH = 32  # config ids: ^[a-z0-9][a-z0-9_-]{0,31}$
ALERT_ID_LENGTH = 128
ACTOR_LENGTH = 64


class Base(DeclarativeBase):
    pass


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_fired_at", "fired_at"),
        Index("ix_alerts_room_fired_at", "room", "fired_at"),
    )

    id: Mapped[str] = mapped_column(String(ALERT_ID_LENGTH), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    box_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    rule: Mapped[str] = mapped_column(String(ID_LENGTH))
    room: Mapped[str] = mapped_column(String(ID_LENGTH))
    camera: Mapped[str] = mapped_column(String(ID_LENGTH))
    severity: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)

    # The condition, as the rules see it.
    active: Mapped[bool]
    condition_started_at: Mapped[float]
    fired_at: Mapped[float]
    ended_at: Mapped[float | None]

    # The workflow, as operators move it.
    state: Mapped[str] = mapped_column(String(16))
    acknowledged_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH))
    acknowledged_at: Mapped[float | None]
    resolved_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH))
    resolved_at: Mapped[float | None]
    comment: Mapped[str | None] = mapped_column(Text)
    false_positive: Mapped[bool]

    created_at: Mapped[float]
    updated_at: Mapped[float]

    history: Mapped[list[AlertHistory]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", order_by="AlertHistory.id"
    )


class AlertHistory(Base):
    __tablename__ = "alert_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[float]
    kind: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH))
    comment: Mapped[str | None] = mapped_column(Text)

    alert: Mapped[Alert] = relationship(back_populates="history")
