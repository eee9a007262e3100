"""Digest subscriptions: one per vendor and channel, claimed like jobs.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("vendor", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("frequency", sa.String(8), nullable=False),
        sa.Column("at_time", sa.String(5), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("cursor", sa.JSON),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("next_run_at", sa.Float, nullable=False),
        sa.Column("last_run_at", sa.Float),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", sa.Float),
        sa.UniqueConstraint("vendor", "channel_id", name="uq_digest_vendor_channel"),
    )
    op.create_index("ix_digest_due", "digest_subscriptions", ["next_run_at"])


def downgrade() -> None:
    op.drop_index("ix_digest_due", table_name="digest_subscriptions")
    op.drop_table("digest_subscriptions")
