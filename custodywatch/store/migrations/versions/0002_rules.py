"""Create the rules' tables: rule_state, room_counts, custody_records.

Revision ID: 0002_rules
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_rules"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_state",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.Double(), nullable=False),
    )
    op.create_table(
        "room_counts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("room", sa.String(32), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("detainees", sa.Integer(), nullable=False),
        sa.Column("officers", sa.Integer(), nullable=False),
        sa.Column("guards", sa.Integer(), nullable=False),
    )
    op.create_index("ix_room_counts_room_at", "room_counts", ["room", "at"])
    op.create_table(
        "custody_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person", sa.String(64), nullable=False),
        sa.Column("room", sa.String(32), nullable=False),
        sa.Column("legal_basis", sa.String(32), nullable=False),
        sa.Column("extended", sa.Boolean(), nullable=False),
        sa.Column("check_in", sa.Double(), nullable=False),
        sa.Column("release", sa.Double(), nullable=True),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.UniqueConstraint("person", "check_in", name="uq_custody_person_check_in"),
    )


def downgrade() -> None:
    op.drop_table("custody_records")
    op.drop_table("room_counts")
    op.drop_table("rule_state")
