"""Audit log, pending policy confirmations, and the Slack requests already handled.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("command", sa.String(64), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("vendor_ids", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_at", "audit_log", ["at"])
    op.create_index("ix_audit_user_at", "audit_log", ["user_id", "at"])
    op.create_table(
        "confirmations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("command", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("action", sa.String(64), nullable=False, server_default=""),
        sa.Column("target", sa.String(300), nullable=False, server_default=""),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("used_at", sa.Float),
    )
    op.create_table(
        "handled_requests",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_handled_at", "handled_requests", ["at"])


def downgrade() -> None:
    op.drop_index("ix_handled_at", table_name="handled_requests")
    op.drop_table("handled_requests")
    op.drop_table("confirmations")
    op.drop_index("ix_audit_user_at", table_name="audit_log")
    op.drop_index("ix_audit_at", table_name="audit_log")
    op.drop_table("audit_log")
