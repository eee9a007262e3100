"""Workflow steps, two-person approvals, and what App Home reads.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A Workflow Builder step run (a function execution), from its event to the one
    # functions.completeSuccess|completeError that ends it.
    op.create_table(
        "step_runs",
        sa.Column("execution_id", sa.String(64), primary_key=True),
        sa.Column("callback_id", sa.String(64), nullable=False),
        # The function bot token of this execution: the only token that may complete it.
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("job_id", sa.String(36)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("completed_at", sa.Float),
    )
    # The steps' sweeps look for runs by state.
    op.create_index("ix_step_runs_state", "step_runs", ["state", "created_at"])
    # A request held until enough approvers approve it (or one rejects, or it expires).
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("requester", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("command", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("origin", sa.JSON),
        sa.Column("approvers", sa.JSON, nullable=False),
        sa.Column("needed", sa.Integer, nullable=False),
        sa.Column("decisions", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("closed_at", sa.Float),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_approvals_open", "approvals", ["state", "expires_at"])
    op.add_column("jobs", sa.Column("step_execution_id", sa.String(64)))
    op.create_index("ix_jobs_step_execution", "jobs", ["step_execution_id"])
    op.create_index("ix_jobs_user_created", "jobs", ["user_id", "created_at"])
    op.add_column("confirmations", sa.Column("origin", sa.JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("confirmations", "origin")
    op.drop_index("ix_jobs_user_created", "jobs")
    op.drop_index("ix_jobs_step_execution", "jobs")
    op.drop_column("jobs", "step_execution_id")
    op.drop_index("ix_approvals_open", "approvals")
    op.drop_table("approvals")
    op.drop_index("ix_step_runs_state", "step_runs")
    op.drop_table("step_runs")
