"""Create export_jobs (evidence exports outlive a restart) and alert_boxes (the people on an alert's
snapshot).

Revision ID: 0004_exports_snapshot_boxes
Revises: 0003_accounts
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_exports_snapshot_boxes"
down_revision = "0003_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("cameras", sa.Text(), nullable=False),
        sa.Column("start", sa.Double(), nullable=False),
        sa.Column("end", sa.Double(), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("alert_id", sa.String(128), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("bytes", sa.Integer(), nullable=True),
        sa.Column("zip_path", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("finished_at", sa.Double(), nullable=True),
    )
    op.create_index("ix_export_jobs_created_at", "export_jobs", ["created_at"])
    op.create_table(
        "alert_boxes",
        sa.Column("alert_id", sa.String(128), primary_key=True),
        sa.Column("camera", sa.String(32), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("boxes", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alert_boxes")
    op.drop_index("ix_export_jobs_created_at", table_name="export_jobs")
    op.drop_table("export_jobs")
