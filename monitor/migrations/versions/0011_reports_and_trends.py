"""Weekly reports sent, and the trends rollup

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

``report_sends``: one row per (report, week) sent, so a report run twice for the same week
sends once. ``brand_hours``: posts per (brand, UTC hour, source, language) and how they were
read, the trends page's counts; their sums per (brand, hour) in ``brand_hour_totals`` and
per (brand, UTC day, source, language) in ``brand_days``; ``rollup_state`` its watermark.
Indexes on ``posts.fetched_at`` and ``readings.classified_at`` answer "what changed since"
for it; one on ``queue_items`` (brand, flagged_at, first_response_at, closed_at) the service
figures.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
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
    op.create_table(
        "brand_hours",
        sa.Column("brand", sa.String(length=200), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("brand", "hour", "source_id", "lang"),
        sqlite_with_rowid=False,
    )
    counts = ("mentions", "complaints", "negative", "read")
    op.create_table(
        "brand_hour_totals",
        sa.Column("brand", sa.String(length=200), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in counts),
        sa.PrimaryKeyConstraint("brand", "hour"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "brand_days",
        sa.Column("brand", sa.String(length=200), nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in counts),
        sa.PrimaryKeyConstraint("brand", "day", "source_id", "lang"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_state",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_posts_fetched_at", "posts", ["fetched_at"])
    op.create_index("ix_readings_classified_at", "readings", ["classified_at"])
    op.create_index(
        "ix_queue_brand_flagged",
        "queue_items",
        ["brand", "flagged_at", "first_response_at", "closed_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_queue_brand_flagged", table_name="queue_items")
    op.drop_index("ix_readings_classified_at", table_name="readings")
    op.drop_index("ix_posts_fetched_at", table_name="posts")
    op.drop_table("rollup_state")
    op.drop_table("brand_days")
    op.drop_table("brand_hour_totals")
    op.drop_table("brand_hours")
    op.drop_table("report_sends")
