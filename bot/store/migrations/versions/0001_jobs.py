"""Tracked vendor jobs.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("vendor", sa.String(32), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("vendor_job_id", sa.String(200)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("vendor_status", sa.String(32)),
        sa.Column("outcome", sa.String(16)),
        sa.Column("result", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
        sa.Column("deadline_at", sa.Float, nullable=False),
        sa.Column("next_poll_at", sa.Float),
        sa.Column("poll_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("notice_step", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", sa.Float),
        sa.Column("notified_at", sa.Float),
    )
    op.create_index("ix_jobs_due", "jobs", ["state", "next_poll_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_due", table_name="jobs")
    op.drop_table("jobs")
