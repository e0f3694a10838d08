"""Create reanalysis_jobs: re-analyses of stored footage started from the page, with their result.

Revision ID: 0005_reanalysis_jobs
Revises: 0004_maintenance
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_reanalysis_jobs"
down_revision = "0004_maintenance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reanalysis_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("camera", sa.String(32), nullable=False),
        sa.Column("start", sa.Double(), nullable=False),
        sa.Column("end", sa.Double(), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("origin", sa.Double(), nullable=True),
        sa.Column("alerts", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("finished_at", sa.Double(), nullable=True),
    )
    op.create_index("ix_reanalysis_jobs_created_at", "reanalysis_jobs", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_reanalysis_jobs_created_at", table_name="reanalysis_jobs")
    op.drop_table("reanalysis_jobs")
