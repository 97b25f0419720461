"""Alembic environment: the engine comes from Stormwatch (``cfg.attributes["engine"]``)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import alerts.store  # noqa: F401  (the outbox tables live with the alerts package)
import monitor.storage.models  # noqa: F401  (registers the tables on the metadata)
from monitor.storage.search import include_object

target_metadata = SQLModel.metadata
LOCK = 0x53_54_4F_52_4D_4D  # pg_advisory_xact_lock key for migrations ("STORMM")


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite cannot ALTER most things: batch mode recreates tables
            compare_type=True,
            include_object=include_object,  # full-text search objects are made by hand
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Processes starting together (cluster mode) migrate one at a time; the
                # ones that waited then find the schema at head and do nothing.
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK})
            context.run_migrations()
        connection.commit()


run_migrations_online()
