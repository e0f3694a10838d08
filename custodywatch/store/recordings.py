"""ORM tables of the recorder: the archive index mirrored, legal holds, and the recorder's audit log.

The archive's own `index.jsonl` is the record of truth (verify needs no database); the mirror is
for queries (what covers this alert? which segments may retention delete?) and is rebuilt from the
index when it falls behind. Times are epoch seconds, the box's one clock.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from custodywatch.store.models import ACTOR_LENGTH, ALERT_ID_LENGTH, ID_LENGTH, Base

HASH_LENGTH = 64
HOLD_ID_LENGTH = 32


class RecordingRecord(Base):
    """One line of an archive's index.jsonl: a segment, a gap or a deletion."""

    __tablename__ = "recording_records"
    __table_args__ = (
        UniqueConstraint("archive_id", "camera", "seq", name="uq_recording_records_chain"),
        Index("ix_recording_records_camera_start", "camera", "start"),
        Index("ix_recording_records_path", "path"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    archive_id: Mapped[str] = mapped_column(String(32))
    camera: Mapped[str] = mapped_column(String(ID_LENGTH))
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(16))
    start: Mapped[float]
    end: Mapped[float]
    path: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    cause: Mapped[str | None] = mapped_column(String(32))
    recovered: Mapped[bool]
    prev: Mapped[str] = mapped_column(String(HASH_LENGTH))
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class LegalHold(Base):
    """Footage that must never be deleted automatically: a time range on cameras, with a reason."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_range", "start", "end"),)

    id: Mapped[str] = mapped_column(String(HOLD_ID_LENGTH), primary_key=True)
    cameras: Mapped[str] = mapped_column(Text)  # comma-separated camera ids; "*" for every camera
    start: Mapped[float]
    end: Mapped[float]
    reason: Mapped[str] = mapped_column(Text)
    alert_id: Mapped[str | None] = mapped_column(String(ALERT_ID_LENGTH))
    custody_id: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    created_at: Mapped[float]
    released_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH))
    released_at: Mapped[float | None]
    release_reason: Mapped[str | None] = mapped_column(Text)


class RecorderAudit(Base):
    """Every hold created or released, every segment deleted, every quota alarm: who, when, what."""

    __tablename__ = "recorder_audit"
    __table_args__ = (Index("ix_recorder_audit_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[float]
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    action: Mapped[str] = mapped_column(String(32))
    camera: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    subject: Mapped[str | None] = mapped_column(Text)  # a hold id or a segment path
    detail: Mapped[str] = mapped_column(Text)
