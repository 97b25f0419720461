"""one-tap acknowledge links: the record of links that have acted

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

``ack_link_uses`` holds one row per one-tap link from a page that has acknowledged (a link
acts once, alerts.ack); rows are deleted once their link has expired.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ack_link_uses",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.String(length=120), nullable=False),
        sa.Column("person", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_id"),
    )
    with op.batch_alter_table("ack_link_uses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ack_link_uses_expires_at"), ["expires_at"])
        batch_op.create_index(batch_op.f("ix_ack_link_uses_incident_id"), ["incident_id"])


def downgrade() -> None:
    with op.batch_alter_table("ack_link_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ack_link_uses_incident_id"))
        batch_op.drop_index(batch_op.f("ix_ack_link_uses_expires_at"))
    op.drop_table("ack_link_uses")
