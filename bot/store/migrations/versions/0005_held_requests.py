"""Confirmations hold the parsed request itself, not command text to parse again.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows written before this held only text: they have no request and cannot be
    # confirmed (they expire within ten minutes anyway).
    op.add_column("confirmations", sa.Column("request", sa.JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("confirmations", "request")
