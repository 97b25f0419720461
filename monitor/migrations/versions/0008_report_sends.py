"""Weekly reports: which report was sent for which week

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

One row per (report, week) sent, so a report run twice for the same week sends once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report", sa.String(length=100), nullable=False),
        sa.Column("week_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report", "week_start", name="uq_report_week"),
    )


def downgrade() -> None:
    op.drop_table("report_sends")
