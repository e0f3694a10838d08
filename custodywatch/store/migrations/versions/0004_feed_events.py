"""Create feed_events: the page's live feed as a journal, and the outbox of alert changes not yet
pushed to it.

Revision ID: 0004_feed_events
Revises: 0003_accounts
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_feed_events"
down_revision = "0003_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("box_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("alert_id", sa.String(128), nullable=True),
        sa.Column("change", sa.String(16), nullable=True),
        sa.Column("queued_at", sa.Double(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("pushed_at", sa.Double(), nullable=True),
    )
    op.create_index("ix_feed_events_box_id_seq", "feed_events", ["box_id", "seq"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_feed_events_box_id_seq", table_name="feed_events")
    op.drop_table("feed_events")
