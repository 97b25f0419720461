"""Users: the language pages are shown in

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

``users.language`` is one of the languages pages are translated into (``en``, ``da``,
``sv``, ``nb``, ``fi``, ``de``), chosen on the settings page; NULL keeps the default, the
browser's Accept-Language, else English.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("language")
