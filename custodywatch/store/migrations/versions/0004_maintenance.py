"""Create maintenance_windows: cameras being serviced, when video_loss is not raised for them.

Revision ID: 0004_maintenance
Revises: 0003_accounts
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_maintenance"
down_revision = "0003_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("camera", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("start", sa.Double(), nullable=False),
        sa.Column("until", sa.Double(), nullable=False),
        sa.Column("ended_at", sa.Double(), nullable=True),
        sa.Column("ended_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
    )
    op.create_index("ix_maintenance_windows_camera_until", "maintenance_windows", ["camera", "until"])


def downgrade() -> None:
    op.drop_index("ix_maintenance_windows_camera_until", table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
