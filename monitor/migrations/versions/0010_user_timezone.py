"""Users: the time zone pages show times in

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

``users.timezone`` is an IANA zone name chosen on the settings page (or by ``stormwatch
user add --timezone``); NULL keeps the default, the on-call schedule's zone, else the
browser's.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("timezone")
