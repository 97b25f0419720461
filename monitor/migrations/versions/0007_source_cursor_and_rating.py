"""API sources: a source's persisted high-water marks; a review's stars

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

``sources.cursor`` holds the marks of an API source's last completed walk (JSON), written
in the same transaction as the posts they stand for, so a restart neither misses nor
repeats posts. ``posts.rating`` keeps the stars of App Store and Trustpilot reviews.
Plain ADD COLUMN (no batch copy): the posts table carries the SQLite search triggers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("cursor", sa.Text(), nullable=True))
    op.add_column("posts", sa.Column("rating", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("rating")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("cursor")
