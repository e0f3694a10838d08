"""ORM tables of the alert store.

Times are epoch seconds (UTC) as floats, the box's one clock: AlertEvent times are stored exactly
as the rules produced them, so re-applying an event compares equal. Enumerated values (rule,
severity, state, history kind) are stored as their string values; views type them.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


class ExportJobRow(Base):
    """An evidence export the API started: kept so a restart neither loses a finished package's
    download nor leaves a job that died with the process looking as if it were still running."""

    __tablename__ = "export_jobs"
    __table_args__ = (Index("ix_export_jobs_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    cameras: Mapped[str] = mapped_column(Text)  # comma-separated camera ids
    start: Mapped[float]
    end: Mapped[float]
    requested_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    reason: Mapped[str] = mapped_column(Text)
    alert_id: Mapped[str | None] = mapped_column(String(ALERT_ID_LENGTH))
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    segments: Mapped[int | None]
    bytes: Mapped[int | None]
    zip_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float]
    finished_at: Mapped[float | None]


class AlertBoxesRow(Base):
    """The people the detector saw in the analysed frame nearest an alert's fire time, with the role
    their zone gave them: what the alert's snapshot draws. Coordinates are fractions of the frame, so
    they fit the recorded main stream whatever its resolution."""

    __tablename__ = "alert_boxes"

    alert_id: Mapped[str] = mapped_column(String(ALERT_ID_LENGTH), primary_key=True)
    camera: Mapped[str] = mapped_column(String(ID_LENGTH))
    at: Mapped[float]  # the analysed frame's time
    boxes: Mapped[str] = mapped_column(Text)  # JSON list of {x1, y1, x2, y2, role, zone}


# ---- store-and-forward: the box's outbox and what a centre receives (see store/outbox.py) --------

OUTBOX_KEY_LENGTH = 200


class OutboxRow(Base):
    """One change of something the centre mirrors, written in the transaction that made it.

    `seq` only grows (AUTOINCREMENT on SQLite: a deleted top row is never reused), so the forwarder
    sends in `seq` order; `id` names the change itself, for receivers that deduplicate by it.
    """

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("id", name="uq_outbox_id"), {"sqlite_autoincrement": True})

    seq: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(OUTBOX_KEY_LENGTH))
    payload: Mapped[str] = mapped_column(Text)  # JSON object: the thing as it is after the change
    created_at: Mapped[float]


class ForwardCursorRow(Base):
    """The box's note of how far the centre has acknowledged its outbox."""

    __tablename__ = "forward_cursor"

    target: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    seq: Mapped[int]
    acked_at: Mapped[float]


class CentralBoxRow(Base):
    """At the centre: each box that reports in, and the last outbox `seq` taken from it."""

    __tablename__ = "central_boxes"

    site_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    box_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    last_seq: Mapped[int]
    first_seen_at: Mapped[float]
    forwarded_at: Mapped[float]


class CentralReceiptRow(Base):
    """At the centre: one row per outbox row taken, so what arrived, once and in order, can be shown."""

    __tablename__ = "central_receipts"

    site_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    box_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(OUTBOX_KEY_LENGTH))
    created_at: Mapped[float]
    received_at: Mapped[float]


class CentralCustodyRow(Base):
    __tablename__ = "central_custody"

    site_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    box_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    person: Mapped[str] = mapped_column(String(64), primary_key=True)
    check_in: Mapped[float] = mapped_column(primary_key=True)
    room: Mapped[str] = mapped_column(String(ID_LENGTH))
    legal_basis: Mapped[str] = mapped_column(String(ID_LENGTH))
    extended: Mapped[bool]
    release: Mapped[float | None]
    updated_at: Mapped[float]


class CentralCameraHealthRow(Base):
    __tablename__ = "central_camera_health"

    site_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    box_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    camera: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    connected: Mapped[bool]
    fps_in: Mapped[float]
    fps_analysed: Mapped[float]
    dropped: Mapped[int] = mapped_column(BigInteger)
    reconnects: Mapped[int]
    last_frame_at: Mapped[float | None]
    reported_at: Mapped[float]


class CentralChainHeadRow(Base):
    """At the centre: the box's signed archive chain heads, so a box rewritten later is caught."""

    __tablename__ = "central_chain_heads"

    site_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    box_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    archive_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    index_bytes: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[float]
    index_sha256: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)


class FeedEvent(Base):
    """One event of a box's live feed (the page's server-sent events), or an alert change waiting to
    become one. The store writes an alert change's row in the change's own transaction with `seq`
    unset (the outbox); the API numbers it, stores what it pushed in `data`, and only then pushes
    it. A crash between commit and push therefore leaves the row unnumbered, and it is pushed on
    restart; a numbered row is never pushed again, and the numbers continue across restarts."""

    __tablename__ = "feed_events"
    __table_args__ = (Index("ix_feed_events_box_id_seq", "box_id", "seq", unique=True),)

    # BIGINT on PostgreSQL; SQLite's autoincrementing rowid must be declared INTEGER.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                    autoincrement=True)
    box_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(16))  # the SSE event name: alert, health, escalation
    alert_id: Mapped[str | None] = mapped_column(String(ALERT_ID_LENGTH))
    change: Mapped[str | None] = mapped_column(String(16))  # AlertChange of an alert event
    queued_at: Mapped[float]
    seq: Mapped[int | None] = mapped_column(BigInteger())  # the SSE id; None: not pushed yet
    data: Mapped[str | None] = mapped_column(Text)  # the SSE data as pushed
    pushed_at: Mapped[float | None]


class MaintenanceWindowRow(Base):
    """A camera being serviced, by whom and why, from `start` until `until` (or until ended early):
    video_loss is not raised for it meanwhile (rules/maintenance.py). Rows are never deleted."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_camera_until", "camera", "until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    camera: Mapped[str] = mapped_column(String(ID_LENGTH))
    reason: Mapped[str] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    start: Mapped[float]
    until: Mapped[float]
    ended_at: Mapped[float | None]
    ended_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH))
    created_at: Mapped[float]


class ReanalysisJobRow(Base):
    """A re-analysis of stored footage the page started (api/reanalysis.py): kept so its result
    outlives the API process, and a job that died with it reads as failed, not running."""

    __tablename__ = "reanalysis_jobs"
    __table_args__ = (Index("ix_reanalysis_jobs_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    camera: Mapped[str] = mapped_column(String(ID_LENGTH))
    start: Mapped[float]
    end: Mapped[float]
    requested_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[float | None]  # wall-clock time the result's seconds count from
    alerts: Mapped[str | None] = mapped_column(Text)  # JSON list of `analyze` lines
    created_at: Mapped[float]
    finished_at: Mapped[float | None]
