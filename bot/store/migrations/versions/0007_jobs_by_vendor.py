"""Jobs by vendor and age: the Flint form's picker of recently run flintbits reads them
on each keystroke, and job rows are kept.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_vendor_created", "jobs", ["vendor", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_vendor_created", table_name="jobs")
