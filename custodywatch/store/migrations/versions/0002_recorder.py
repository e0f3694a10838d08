"""Create the recorder's tables: recording_records, legal_holds, recorder_audit.

Revision ID: 0002_recorder
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_recorder"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recording_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("archive_id", sa.String(32), nullable=False),
        sa.Column("camera", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("start", sa.Double(), nullable=False),
        sa.Column("end", sa.Double(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("cause", sa.String(32), nullable=True),
        sa.Column("recovered", sa.Boolean(), nullable=False),
        sa.Column("prev", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("archive_id", "camera", "seq", name="uq_recording_records_chain"),
    )
    op.create_index("ix_recording_records_camera_start", "recording_records", ["camera", "start"])
    op.create_index("ix_recording_records_path", "recording_records", ["path"])
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("cameras", sa.Text(), nullable=False),
        sa.Column("start", sa.Double(), nullable=False),
        sa.Column("end", sa.Double(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("alert_id", sa.String(128), nullable=True),
        sa.Column("custody_id", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("released_by", sa.String(64), nullable=True),
        sa.Column("released_at", sa.Double(), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_legal_holds_range", "legal_holds", ["start", "end"])
    op.create_table(
        "recorder_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("camera", sa.String(32), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_recorder_audit_at", "recorder_audit", ["at"])


def downgrade() -> None:
    op.drop_table("recorder_audit")
    op.drop_table("legal_holds")
    op.drop_table("recording_records")
