"""The tables. One schema for SQLite and PostgreSQL; Alembic migrations in monitor/migrations.

Times are stored as timezone-aware UTC (``UTCDateTime``) so SQLite and PostgreSQL return
the same values. Ids of posts are stable: derived from the canonical URL, so the same post
seen in two feeds, or re-published with tracking parameters, is one row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from alerts.store import UTCDateTime  # one aware-UTC column type for every table


def _when(nullable: bool = True, **kw: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, **kw)


class Source(SQLModel, table=True):
    """A configured place to watch, and the health of its crawl."""

    __tablename__ = "sources"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=200)
    kind: str = Field(max_length=20)
    url: str = Field(max_length=2000)
    brand: str | None = Field(default=None, max_length=200)
    lang: str | None = Field(default=None, max_length=8)
    interval_s: float = 900.0
    enabled: bool = True
    next_due_at: datetime | None = _when(index=True)
    last_attempt_at: datetime | None = _when()
    last_success_at: datetime | None = _when()
    last_error: str | None = Field(default=None, max_length=1000)
    last_error_kind: str | None = Field(default=None, max_length=20)
    last_error_at: datetime | None = _when()
    consecutive_failures: int = 0
    posts_stored: int = 0
    warnings: int = 0
    last_warning: str | None = Field(default=None, max_length=1000)  # a document read in part
    # API kinds: the high-water marks of the last completed walk (JSON, stream -> mark),
    # written in the same transaction as the posts they stand for.
    cursor: str | None = Field(default=None, sa_type=sa.Text)


class FetchState(SQLModel, table=True):
    """Validators of every URL a source fetches (its feed, comment feeds, topic JSON)."""

    __tablename__ = "fetch_state"
    __table_args__ = (sa.UniqueConstraint("source_id", "url", name="uq_fetch_state_source_url"),)
    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="sources.id", index=True)
    url: str = Field(max_length=2000)
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    last_status: int | None = None
    fetched_at: datetime | None = _when()


class HostState(SQLModel, table=True):
    """Per-host backoff, persisted so a restart does not hammer a host that said 429."""

    __tablename__ = "host_state"
    host: str = Field(primary_key=True, max_length=300)
    backoff_until: datetime | None = _when()
    consecutive_failures: int = 0
    last_status: int | None = None
    last_reason: str | None = Field(default=None, max_length=300)


class Post(SQLModel, table=True):
    """A post or a comment (a comment is a post with a thread and a parent)."""

    __tablename__ = "posts"
    id: str = Field(primary_key=True, max_length=32)
    canonical_url: str = Field(unique=True, max_length=2000)
    source_id: int = Field(foreign_key="sources.id", index=True)
    kind: str = Field(default="post", max_length=10)  # post | comment
    thread_id: str | None = Field(default=None, index=True, max_length=32)
    parent_id: str | None = Field(default=None, max_length=32)
    external_id: str | None = Field(default=None, max_length=500)
    author: str | None = Field(default=None, max_length=300)
    title: str | None = Field(default=None, max_length=1000)
    text: str = Field(default="", sa_type=sa.Text)
    published_at: datetime | None = _when(index=True)
    fetched_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    updated_at: datetime | None = _when()
    lang: str | None = Field(default=None, max_length=8)
    brand_reason: str | None = Field(default=None, max_length=20)  # mention | source | thread
    content_hash: str = Field(max_length=64)
    edits: int = 0
    rating: int | None = None  # a review's stars (App Store, Trustpilot), 1-5
    # the same text up to case and spacing (monitor.parse.text.copy_key); a post whose text an
    # earlier post already carried is stored linked to it: one queue item with its copies
    text_key: str | None = Field(default=None, max_length=40, index=True)
    copy_of: str | None = Field(default=None, max_length=32, index=True)


class PostBrand(SQLModel, table=True):
    """Which brands a post is about (queried by brand everywhere downstream)."""

    __tablename__ = "post_brands"
    post_id: str = Field(foreign_key="posts.id", primary_key=True, max_length=32)
    brand: str = Field(primary_key=True, max_length=200, index=True)


class PostEdit(SQLModel, table=True):
    """The previous version of a post, kept each time its text or title changes."""

    __tablename__ = "post_edits"
    id: int | None = Field(default=None, primary_key=True)
    post_id: str = Field(foreign_key="posts.id", index=True, max_length=32)
    changed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    old_title: str | None = Field(default=None, max_length=1000)
    old_text: str = Field(default="", sa_type=sa.Text)
    old_hash: str = Field(max_length=64)


class Reading(SQLModel, table=True):
    """How the classifier read one post for one brand (target-aware: only the passages
    around that brand's mentions). ``content_hash`` + ``model`` make it a cache: a post
    whose text and model are unchanged is never classified twice."""

    __tablename__ = "readings"
    post_id: str = Field(foreign_key="posts.id", primary_key=True, max_length=32)
    brand: str = Field(primary_key=True, max_length=200)
    content_hash: str = Field(max_length=64)
    model: str = Field(max_length=200)
    negative: float
    neutral: float
    positive: float
    complaint: float = Field(index=True)
    label: str = Field(max_length=20)
    passage: str = Field(default="", sa_type=sa.Text)
    passage_source: str = Field(default="head", max_length=10)  # title | mention | head
    passage_start: int = 0
    passage_end: int = 0
    classified_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class Relabel(SQLModel, table=True):
    """A manager's correction of a label (from the queue); training uses the latest one."""

    __tablename__ = "relabels"
    id: int | None = Field(default=None, primary_key=True)
    post_id: str = Field(foreign_key="posts.id", index=True, max_length=32)
    brand: str = Field(max_length=200)
    label: str = Field(max_length=20)  # complaint | not_complaint
    by: str | None = Field(default=None, max_length=200)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class IncidentRow(SQLModel, table=True):
    """A complaint storm: the detector's Incident, with its state as JSON (monitor.detect.
    codec) and the fields the CLI, the queue and alerting filter on as columns."""

    __tablename__ = "incidents"
    id: str = Field(primary_key=True, max_length=120)
    brand: str = Field(index=True, max_length=200)
    family: str = Field(max_length=20)
    kind: str = Field(max_length=40)
    severity: str = Field(max_length=20)
    status: str = Field(index=True, max_length=20)  # triggered | acknowledged | resolved
    origin: str = Field(max_length=10)  # live | history
    opened_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    onset_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    acknowledged_at: datetime | None = _when()
    acknowledged_by: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = _when()
    explanation: str = Field(default="", sa_type=sa.Text)
    state: str = Field(default="{}", sa_type=sa.Text)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class AckLinkUse(SQLModel, table=True):
    """A one-tap link from a page that has acted (each acts once: alerts.ack). A row is
    deleted once its link has expired, which refuses the link by itself."""

    __tablename__ = "ack_link_uses"
    token_id: str = Field(primary_key=True, max_length=64)  # AckCheck.token_id
    incident_id: str = Field(max_length=120, index=True)
    person: str = Field(max_length=200)
    action: str = Field(max_length=16)
    used_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


# --- the queue: triage of flagged posts ---------------------------------------------------

QUEUE_STATUSES = ("new", "acknowledged", "responded", "resolved", "dismissed")
OPEN_STATUSES = ("new", "acknowledged", "responded")


class QueueItem(SQLModel, table=True):
    """A post flagged as a complaint about one brand, and where its triage stands.

    ``rank`` orders the queue: ``ln(urgency) + published_ts / RANK_DECAY_S``, the log of an
    exponentially age-decayed urgency. Ordering by it equals ordering by
    ``urgency * exp(-age / RANK_DECAY_S)`` at any moment, yet it never changes as time
    passes, so it is a plain indexed column (monitor.queue.ranking)."""

    __tablename__ = "queue_items"
    # Covers the queue page's key query (filter on status, order by rank, return the keys).
    # The second covers the service figures (a brand's items by flagging time, answered, closed).
    __table_args__ = (
        sa.Index("ix_queue_status_rank", "status", "rank", "post_id", "brand"),
        sa.Index("ix_queue_brand_flagged", "brand", "flagged_at", "first_response_at", "closed_at"),
    )
    post_id: str = Field(foreign_key="posts.id", primary_key=True, max_length=32)
    brand: str = Field(primary_key=True, max_length=200, index=True)
    status: str = Field(default="new", max_length=20)
    assignee: str | None = Field(default=None, max_length=200, index=True)
    source_id: int = Field(foreign_key="sources.id", index=True)
    lang: str | None = Field(default=None, max_length=8, index=True)
    complaint: float
    urgency: float
    rank: float
    incident_id: str | None = Field(default=None, max_length=120, index=True)
    published_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    flagged_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    acknowledged_at: datetime | None = _when()
    first_response_at: datetime | None = _when()
    closed_at: datetime | None = _when()
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class AuditEvent(SQLModel, table=True):
    """Who did what, when: to a queued post (subject ``post:ID:BRAND``) or an incident
    (``incident:ID``). Shown as each one's history and never updated."""

    __tablename__ = "audit_events"
    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=400, index=True)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=40)
    detail: str = Field(default="", sa_type=sa.Text)


# --- accounts -------------------------------------------------------------------------------

ROLES = ("viewer", "manager", "admin")
# The languages pages are translated into (``monitor/web/locale``), English first.
LANGUAGES = ("en", "da", "sv", "nb", "fi", "de")


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    role: str = Field(max_length=20)  # viewer | manager | admin
    password_hash: str = Field(max_length=300)
    disabled: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # The zone pages show times in for this user (IANA name); None: the default
    # (the on-call schedule's zone, else the browser's).
    timezone: str | None = Field(default=None, max_length=64)
    # The language of this user's pages (one of LANGUAGES); None: the browser's.
    language: str | None = Field(default=None, max_length=8)


class WebSession(SQLModel, table=True):
    """A server-side login session. The cookie holds a random token; only its SHA-256 is
    stored, so a copy of the database cannot be used to log in. Revoking sets
    ``revoked_at``; every request checks it."""

    __tablename__ = "web_sessions"
    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie token
    user_id: int = Field(foreign_key="users.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = _when()
    client: str | None = Field(default=None, max_length=200)


class LoginFailure(SQLModel, table=True):
    """A failed login, counted per user name and per client address for rate limiting
    (in the database, so several processes behind one address share the count)."""

    __tablename__ = "login_failures"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, index=True)  # "pair:ADDRESS|NAME" or "client:ADDRESS"
    at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class ReportSend(SQLModel, table=True):
    """A weekly report sent: one row per (report, week), so running it again sends nothing
    (monitor/reports/send.py)."""

    __tablename__ = "report_sends"
    __table_args__ = (sa.UniqueConstraint("report", "week_start", name="uq_report_week"),)
    id: int | None = Field(default=None, primary_key=True)
    report: str = Field(max_length=100)
    week_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    sent_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    recipients: str = Field(default="", sa_type=sa.Text)


class BrandHour(SQLModel, table=True):
    """Posts about a brand per UTC hour, source and language, with how they were read: the
    trends page's counts, kept up to date from the posts (monitor/reports/rollup.py)."""

    __tablename__ = "brand_hours"
    # SQLite keeps the rows in primary-key order: a brand's hours are read in one sweep
    __table_args__ = {"sqlite_with_rowid": False}
    brand: str = Field(primary_key=True, max_length=200)
    hour: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    source_id: int = Field(primary_key=True)
    lang: str = Field(primary_key=True, max_length=8)  # "" when unknown
    mentions: int = 0
    complaints: int = 0
    negative: int = 0
    read: int = 0


class RollupState(SQLModel, table=True):
    """When a rollup last caught up with the posts and readings (its watermark)."""

    __tablename__ = "rollup_state"
    name: str = Field(primary_key=True, max_length=50)
    refreshed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class BrandHourTotal(SQLModel, table=True):
    """``brand_hours`` summed per (brand, hour): the trends page's time series."""

    __tablename__ = "brand_hour_totals"
    __table_args__ = {"sqlite_with_rowid": False}
    brand: str = Field(primary_key=True, max_length=200)
    hour: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    mentions: int = 0
    complaints: int = 0
    negative: int = 0
    read: int = 0


class BrandDay(SQLModel, table=True):
    """``brand_hours`` summed per (brand, UTC day, source, language): the trends page's
    breakdowns over whole days (the edge hours come from ``brand_hours``)."""

    __tablename__ = "brand_days"
    __table_args__ = {"sqlite_with_rowid": False}
    brand: str = Field(primary_key=True, max_length=200)
    day: datetime = Field(sa_type=UTCDateTime, primary_key=True)  # its 00:00 UTC
    source_id: int = Field(primary_key=True)
    lang: str = Field(primary_key=True, max_length=8)
    mentions: int = 0
    complaints: int = 0
    negative: int = 0
    read: int = 0
