"""Join the branches made side by side (exports and snapshot boxes, the event feed, forwarding,
maintenance and re-analysis) into one head, so a database reports a single current revision.

Revision ID: 0006_merge
Revises: 0004_exports_snapshot_boxes, 0004_feed_events, 0004_forwarding, 0005_reanalysis_jobs
"""
from __future__ import annotations

revision = "0006_merge"
down_revision = ("0004_exports_snapshot_boxes", "0004_feed_events", "0004_forwarding", "0005_reanalysis_jobs")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
