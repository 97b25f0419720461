"""Syndicated copies: a post's text key and the first post that carried the same text

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

``posts.text_key`` identifies a text up to case, spacing and punctuation (long texts only);
``posts.copy_of`` links a copy (another guid and link, the same words) to the first post
that carried them, so the queue shows one item with its copies. Posts stored before this
revision have no key: only new posts are linked. Plain ADD COLUMN (no batch copy): the
posts table carries the SQLite search triggers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("posts", sa.Column("text_key", sa.String(length=40), nullable=True))
    op.add_column("posts", sa.Column("copy_of", sa.String(length=32), nullable=True))
    op.create_index("ix_posts_text_key", "posts", ["text_key"])
    op.create_index("ix_posts_copy_of", "posts", ["copy_of"])


def downgrade() -> None:
    op.drop_index("ix_posts_copy_of", table_name="posts")
    op.drop_index("ix_posts_text_key", table_name="posts")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("copy_of")
        batch_op.drop_column("text_key")
