"""The outbox tables (SQLModel, on the shared ``SQLModel.metadata``).

``outbox``: one row per page to send, unique on (dedup_key, step, recipient), so a step
is written once however often the escalation tick runs. A step may page several people
(level 2 = the director *and* the duty manager), hence the recipient in the key; ``""``
is a level's shared channels (a PagerDuty service, a Slack room).

``deliveries``: one row per send attempt on one channel, with its named reason. A row of
``outbox`` becomes ``sent`` in the same transaction that records its successful delivery.

Times are aware UTC on SQLite and PostgreSQL alike (``UTCDateTime``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = [
    "DELIVERIES",
    "OUTBOX",
    "STATUSES",
    "DeliveryRow",
    "OutboxRow",
    "UTCDateTime",
    "alert_tables",
]

# ``inhibited`` / ``released``: not pages but a record, in the incident's page history, that
# its pages were held back by an open storm (step ``inhibited:N``) and when they resumed
# (``due_at`` of a released row). The drain only ever claims ``pending`` rows.
STATUSES = ("pending", "sent", "dead", "cancelled", "inhibited", "released")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware time")
        try:
            return value.astimezone(UTC)
        except OverflowError:  # 0001-01-01 at +14:00 has no UTC form
            raise ValueError(f"{value.isoformat()} is outside the years 1-9999 in UTC") from None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(nullable: bool = True, **kw: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, **kw)


class OutboxRow(SQLModel, table=True):
    """A page waiting to be sent, being sent, sent, dead or cancelled; or a hold record."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.UniqueConstraint("dedup_key", "step", "recipient", name="uq_outbox_step"),
        sa.Index("ix_outbox_status_due", "status", "due_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(index=True, max_length=200)
    dedup_key: str = Field(max_length=200)
    step: str = Field(max_length=64)
    recipient: str = Field(default="", max_length=200)
    channels: str = Field(max_length=2000)  # JSON list of channel names, fallback order
    channel_index: int = 0  # which of ``channels`` is tried next
    channel_failures: int = 0  # consecutive failures on that channel
    attempts: int = 0  # failed attempts on all channels
    status: str = Field(default="pending", max_length=16)
    due_at: datetime = _when(nullable=False)
    claimed_until: datetime | None = _when()  # lease of the sender that claimed it
    claim_token: str | None = Field(default=None, max_length=64)
    created_at: datetime = _when(nullable=False)
    sent_at: datetime | None = _when()
    sent_via: str | None = Field(default=None, max_length=200)
    last_reason: str = Field(default="", max_length=1000)
    page: str  # Page.to_json(): no secrets in it


class DeliveryRow(SQLModel, table=True):
    """One send attempt of one outbox row on one channel."""

    __tablename__ = "deliveries"
    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox.id", index=True)
    channel: str = Field(max_length=200)
    attempt: int
    at: datetime = _when(nullable=False)
    ok: bool
    retryable: bool
    reason: str = Field(max_length=1000)
    duration_ms: float = 0.0


# SQLAlchemy's declarative base sets __table__ at class creation; SQLModel does not declare it.
OUTBOX: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
DELIVERIES: sa.Table = DeliveryRow.__table__  # type: ignore[attr-defined]


def alert_tables() -> list[sa.Table]:
    """The tables to create: ``SQLModel.metadata.create_all(engine, tables=alert_tables())``."""
    return [OUTBOX, DELIVERIES]
