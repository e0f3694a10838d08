"""Create the box's outbox and forward cursor, and the centre's tables of what boxes forward.

Revision ID: 0004_forwarding
Revises: 0003_accounts
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_forwarding"
down_revision = "0003_accounts"
branch_labels = None
depends_on = None


def _site_box() -> list[sa.Column[str]]:
    return [sa.Column("site_id", sa.String(32), primary_key=True),
            sa.Column("box_id", sa.String(32), primary_key=True)]


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.UniqueConstraint("id", name="uq_outbox_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "forward_cursor",
        sa.Column("target", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("acked_at", sa.Double(), nullable=False),
    )
    op.create_table(
        "central_boxes",
        *_site_box(),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.Double(), nullable=False),
        sa.Column("forwarded_at", sa.Double(), nullable=False),
    )
    op.create_table(
        "central_receipts",
        *_site_box(),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
    )
    op.create_table(
        "central_custody",
        *_site_box(),
        sa.Column("person", sa.String(64), primary_key=True),
        sa.Column("check_in", sa.Double(), primary_key=True),
        sa.Column("room", sa.String(32), nullable=False),
        sa.Column("legal_basis", sa.String(32), nullable=False),
        sa.Column("extended", sa.Boolean(), nullable=False),
        sa.Column("release", sa.Double(), nullable=True),
        sa.Column("updated_at", sa.Double(), nullable=False),
    )
    op.create_table(
        "central_camera_health",
        *_site_box(),
        sa.Column("camera", sa.String(32), primary_key=True),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.Column("fps_in", sa.Double(), nullable=False),
        sa.Column("fps_analysed", sa.Double(), nullable=False),
        sa.Column("dropped", sa.BigInteger(), nullable=False),
        sa.Column("reconnects", sa.Integer(), nullable=False),
        sa.Column("last_frame_at", sa.Double(), nullable=True),
        sa.Column("reported_at", sa.Double(), nullable=False),
    )
    op.create_table(
        "central_chain_heads",
        *_site_box(),
        sa.Column("archive_id", sa.String(32), primary_key=True),
        sa.Column("index_bytes", sa.BigInteger(), primary_key=True),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("index_sha256", sa.String(64), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in ("central_chain_heads", "central_camera_health", "central_custody", "central_receipts",
                  "central_boxes", "forward_cursor", "outbox"):
        op.drop_table(table)
