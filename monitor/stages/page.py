"""The alert stage of the daemon: incidents in the database -> due pages -> outbox -> channels.

Every tick, for every live incident that is open (or was just acknowledged or resolved),
the on-call plan (alerts.oncall) says which steps are due now: the first page, level 2
after level 1's wait, repeats until acknowledged, and the acknowledge / resolve notices.
Each due step is written to the outbox; the outbox's unique (dedup key, step, recipient)
makes that idempotent, so planning from the incidents table on every tick also means a
crash between opening an incident and writing its page loses nothing: the next tick
writes it. Acknowledging cancels the unsent escalation steps. Then the outbox is drained
(alerts.outbox: retries with backoff, fallback channels, each step sent once).

Grouping (alerts.grouping), decided on every tick from the database alone:

- *Inhibition*: while a brand has an open (triggered or acknowledged) live storm, that
  brand's other incidents (a fast thread; single-post kinds) send no new pages (named
  reason ``inhibited_by_storm``): the storm page already covers them. The decision is
  logged once and recorded as an outbox row ``inhibited:N`` with status ``inhibited``, so
  the incident's page history shows it. Closing notices (acknowledge / resolve) to people
  paged before the storm still go. When the storm resolves the row becomes ``released``
  (``due_at`` = now) and the held incident, if still open, is paged as if it had opened at
  that moment (its first page now, escalation after the usual waits: no burst of steps that
  fell due during the hold).
- *Follow-ups*: when an open storm grew since its last page (trigger, digest or follow-up)
  — higher severity, or peak or post count up by ``oncall.followup_min_growth`` — the
  people already paged get step ``followup:N`` (same dedup key: never a new incident page),
  at most once per ``oncall.followup_minutes``, also while acknowledged (growth news, no
  escalation), never once resolved. Each page carries the incident's figures; the next
  follow-up compares against the last page's, so the baseline survives restarts and the
  step number (the highest follow-up in the outbox, plus one) makes it idempotent.

Pages come from the plan only while an incident is triggered: a step not yet written when
it was acknowledged or resolved (the daemon was down) is moot and never sent. Closing
notices (acknowledge / resolve) go to everyone a page of the incident actually reached, as
the outbox records it, so a PagerDuty alert opened before a hold is still acknowledged and
resolved, and nobody gets an "acknowledged" about a page they never got.

Rounds: a person's acknowledge or resolve is final for the round it was made in. Its
notices are written by ``record_decision`` in the transaction that records the decision
(called by ``monitor.queue.incidents.act``, under the CLI and the web UI), so they go out
whatever the detector decides in the same tick. An incident the detector reopens after it
was resolved (a storm still signalling within the cooldown) pages afresh as round 2, 3...
with its own dedup key (``stormwatch-ID/2``; PagerDuty opens a new alert, the old one stays
resolved), from the moment it reopened, and its pages say so ("The storm continues after
it was resolved at 14:09 CET"); an acknowledgement from an earlier round does not silence
it. Earlier rounds are planned too, for closing only (``close_past_rounds``): their unsent
escalation is cancelled and a page that landed after the decision still gets its notice.
A history incident that goes live is paged from that moment (no burst of the escalation
steps that "fell due" while it was history).

Acknowledge links: a page to one person carries a one-tap link bound to them
(``oncall.tap_link_minutes``; no login, acts once as that person), a page to a shared
channel (a PagerDuty service, a chat room) the link that needs a login
(``oncall.ack_link_minutes``): docs/ARCHITECTURE.md, "One-tap acknowledge". Each recipient's
page is built for them, follow-ups included.

Single flagged posts (in the queue, in no incident) never page at night: once per business
day, in business hours, level 1 gets one digest per brand of the posts flagged since the
previous digest and still new (``flagged:BRAND``, step ``digest:DATE``); none while the
brand has an open storm.

History incidents (storms over before the first crawl) never page. An incident whose brand
no policy covers is not paged, and says so in the log (named reason ``no_policy``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from alerts.ack import ack_url
from alerts.channels import Channel, build_channels
from alerts.config import AlertsConfig, PolicyConfig
from alerts.grouping import followup_decision, followup_step, growth, inhibit_decision
from alerts.oncall import SHARED, IncidentState, Step, business_open_at, due_steps, is_urgent
from alerts.outbox import (
    CLOSING_STEPS,
    HOLD_STEP,
    DrainReport,
    cancel_pending,
    drain,
    enqueue_step,
    hold,
    release,
)
from alerts.page import Page, PostRef, dedup_key_for
from alerts.store import DeliveryRow, OutboxRow, UTCDateTime
from monitor.detect import codec
from monitor.detect.events import SEVERITY_RANK, Signal
from monitor.detect.incidents import Incident, TimelineEntry
from monitor.queue.service import QueueFilter, list_queue
from monitor.settings import Settings
from monitor.storage.db import session_scope
from monitor.storage.models import IncidentRow, QueueItem

log = logging.getLogger("stormwatch.paging")

RECENT = timedelta(hours=24)  # closed incidents still get their acknowledge/resolve notices
OPEN = ("triggered", "acknowledged")
FOLLOWUP = "followup:"
NO_POLICY: Literal["no_policy"] = "no_policy"  # a brand no escalation policy covers
_CLOSING_REASONS = {"acknowledge": "acknowledged", "resolve": "resolved"}
_SEVERITY_NAMES = {rank: name for name, rank in SEVERITY_RANK.items()}


class PagingStage:
    """The page stage: plan due pages into the outbox, then drain it."""

    name = "page"

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.config: AlertsConfig = settings.alerts()
        self.engine = engine
        self.channels: dict[str, Channel] = build_channels(self.config.channel_pairs())
        self.base_url = settings.web.public_url or f"http://{settings.web.bind}"
        key = settings.web.secret_key
        if key is None:
            log.warning("[web] secret_key is not set: acknowledge links stop working on restart")
        self.key = key.reveal().encode() if key else secrets.token_bytes(32)
        self._warned: set[str] = set()

    def plan(self, now: datetime) -> int:
        """Write every due step of every live incident to the outbox; return how many new."""
        with session_scope(self.engine) as session:
            rows = list(self._incidents(session, now))
            storms = open_storms(rows)
            paging = [Paging.of(row) for row in rows]
            written = Written.load(session, [key for p in paging for key in p.round_keys()])
            added = sum(self._plan_one(session, p, now, storms, written[p.key]) for p in paging)
            added += sum(close_past_rounds(session, p, now, written) for p in paging)
            return added + self._plan_flagged(session, now, storms)

    def _plan_flagged(self, session: Session, now: datetime, storms: Mapping[str, str]) -> int:
        """Single flagged posts wait for business hours: once per business day, per brand,
        level 1 gets a digest of the posts flagged since the previous digest that are still
        new and belong to no incident. A brand with an open storm gets none (named reason
        ``inhibited_by_storm``: the storm's pages cover its posts)."""
        hours = self.config.oncall.business_hours
        if business_open_at(hours, now) != now:
            return 0  # outside business hours: the posts wait in the queue
        added = 0
        for brand in _flagged_brands(session):
            policy = self.config.policy_for(brand)
            if policy is None or brand in storms:
                continue
            incident_id = f"flagged:{brand}"
            key = dedup_key_for(incident_id)
            posts = _waiting_posts(session, brand, _last_digest(session, key))
            if not posts:
                continue
            state = IncidentState(incident_id, brand, "flagged_post", "info", opened_at=now)
            for step in due_steps(policy, state, now, self.config.oncall):
                if step.step.startswith("digest:"):
                    page = self._digest_page(incident_id, key, brand, step.step, posts, now)
                    added += int(enqueue_step(session, step, page, now).enqueued)
        return added

    def _digest_page(
        self, incident_id: str, key: str, brand: str, step: str, posts: Sequence[Any], now: datetime
    ) -> Page:
        count = len(posts)
        langs = sorted({p.lang or "?" for p in posts})
        queue = f"{self.base_url.rstrip('/')}/queue?brand={quote(brand)}&status=new"
        return Page(
            incident_id=incident_id,
            dedup_key=key,
            step=step,
            brand=brand,
            kind="flagged_post",
            severity="info",
            title=f"{count} flagged post{'s' if count != 1 else ''} waiting in the queue",
            explanation=(
                f"{count} post{'s' if count != 1 else ''} about {brand} read as complaints, "
                f"not part of any storm ({', '.join(langs)}). Most urgent first; "
                f"answer them from the queue: {queue}"
            ),
            created_at=now,
            top_posts=tuple(
                PostRef(title=p.title or p.passage[:80], url=p.url, snippet=p.passage[:200])
                for p in posts[:DIGEST_POSTS]
            ),
        )

    def send(self, now: datetime) -> DrainReport:
        return drain(self.engine, self.channels, now, settings=self.config.outbox)

    async def run(self, now: datetime) -> DrainReport:
        """:class:`monitor.stages.Stage`: one plan-and-send in a worker thread."""
        return await asyncio.to_thread(self.step, now)

    def step(self, now: datetime) -> DrainReport:
        self.plan(now)
        return self.send(now)

    def _incidents(self, session: Session, now: datetime) -> Iterable[IncidentRow]:
        query = (
            select(IncidentRow)
            .where(col(IncidentRow.origin) == "live")
            .where(
                sa.or_(
                    col(IncidentRow.resolved_at).is_(None),
                    col(IncidentRow.resolved_at) >= now - RECENT,
                )
            )
            .order_by(col(IncidentRow.opened_at), col(IncidentRow.id))
        )
        return session.exec(query).all()

    def _plan_one(
        self,
        session: Session,
        paging: Paging,
        now: datetime,
        storms: Mapping[str, str],
        written: Written,
    ) -> int:
        row, incident, key = paging.row, paging.incident, paging.key
        policy = self.config.policy_for(row.brand)
        if policy is None:
            if row.brand not in self._warned:
                self._warned.add(row.brand)
                log.warning("not paged", extra={"brand": row.brand, "reason": NO_POLICY})
            return 0
        if row.status != "triggered":
            keep = (FOLLOWUP,) if row.status == "acknowledged" else ()
            if written.cancellable(keep):
                cancel_pending(session, key, now, row.status, keep=keep)
        held, resumed_at = self._inhibition(session, paging, now, storms, written)
        oncall = self.config.oncall
        began = paging.began  # the round's start; later if a hold ended since
        stale = row.acknowledged_at is not None and row.acknowledged_at < began
        state = IncidentState(
            incident_id=row.id,
            brand=row.brand,
            kind=row.family,  # storm | thread: the policies' urgent_kinds
            severity=row.severity,
            opened_at=max(began, resumed_at) if resumed_at else began,
            acknowledged_at=None if stale else row.acknowledged_at,  # a past round's
            resolved_at=row.resolved_at,
        )
        # Pages come from the plan only while the incident is triggered and not held back
        # (a held incident's plan would name people never paged; a page not written before
        # an acknowledgement or resolution is moot). Closing notices go to everyone a page
        # of this incident actually reached, per the outbox.
        steps = [] if held or row.status != "triggered" else due_steps(policy, state, now, oncall)
        steps = [s for s in steps if s.step not in CLOSING_STEPS]
        continues = paging.continues(self.config.oncall.business_hours.timezone)
        added = 0
        for step in steps:
            if not written.has(step.step, step.recipient):  # the outbox would say so too
                page = self.page(
                    row, step.step, now, incident, key=key, update=continues, to=step.recipient
                )
                added += int(enqueue_step(session, step, page, now).enqueued)
        added += write_closing(session, paging, key, written, state.acknowledged_at, now)
        added += write_closing(session, paging, key, written, state.resolved_at, now, "resolve")
        if not held:
            added += self._follow_up(session, paging, policy, state, written, now)
        return added

    def _inhibition(
        self,
        session: Session,
        paging: Paging,
        now: datetime,
        storms: Mapping[str, str],
        written: Written,
    ) -> tuple[bool, datetime | None]:
        """Whether the incident's pages are held back now, and when paging last resumed."""
        row, key = paging.row, paging.key
        records = written.holds()
        holding = any(r.status == "inhibited" for r in records)
        decision = inhibit_decision(row.family, row.brand, storms)
        if holding and row.status == "resolved":
            release(session, key, now, "released: the incident was resolved while held back")
            holding = False
        if not decision.send:
            if not holding and row.status == "triggered":
                storm = storms[row.brand]
                step = f"{HOLD_STEP}:{len(records) + 1}"
                page = self.page(row, step, now, paging.incident, key=key)
                if hold(session, page, now, f"{decision.reason}: {storm}").enqueued:
                    log.info(
                        "page held back",
                        extra={"incident": row.id, "reason": decision.reason, "storm": storm},
                    )
            return True, None
        if holding:
            release(session, key, now, f"released ({decision.reason}): paging resumed")
            log.info("paging resumed", extra={"incident": row.id, "reason": decision.reason})
            return False, now
        resumed = [r.due_at for r in records if r.status == "released"]
        return False, max(resumed) if resumed else None

    def _follow_up(
        self,
        session: Session,
        paging: Paging,
        policy: PolicyConfig,
        state: IncidentState,
        written: Written,
        now: datetime,
    ) -> int:
        """Step ``followup:N`` to everyone already paged, if the storm grew; else 0."""
        row, incident = paging.row, paging.incident
        if row.family != "storm" or row.status not in OPEN or incident is None:
            return 0
        if is_urgent(policy, state) is None:
            return 0  # non-urgent storms go out as business-hours digests only
        last, paged = written.last_page(), written.paged()
        if last is None or not paged:
            return 0
        before = Page.from_json(last.page).figure_map() or signal_figures(incident.first)
        after = figures(incident)
        grew = growth(before, after, self.config.oncall.followup_min_growth)
        every = timedelta(minutes=self.config.oncall.followup_minutes)
        decision = followup_decision(bool(grew), last.created_at, now, every)
        if not decision.send:
            if grew:
                log.debug("no follow-up yet", extra={"incident": row.id, "reason": decision.reason})
            return 0
        name = followup_step(written.followups())
        update = describe_growth(before, after, grew)
        added = 0
        for was in paged.values():
            step = Step(now, name, was.level, was.recipient, was.channels, decision.reason)
            page = self.page(
                row, name, now, incident, key=paging.key, update=update, to=step.recipient
            )
            added += int(enqueue_step(session, step, page, now).enqueued)
        if added:
            log.info(
                "follow-up",
                extra={"incident": row.id, "reason": decision.reason, "growth": ",".join(grew)},
            )
        return added

    def page(
        self,
        row: IncidentRow,
        step: str,
        now: datetime,
        incident: Incident | None = None,
        *,
        key: str | None = None,
        update: str = "",
        to: str = SHARED,
    ) -> Page:
        """The page of ``step`` for recipient ``to``, with its acknowledge link: a one-tap
        link for a person, a link that needs a login for a shared channel (nobody in
        particular reads a PagerDuty service or a chat room, so nobody is recorded)."""
        return build_page(
            row, step, now, incident, key=key, link=self.ack_link(row.id, now, to), update=update
        )

    def ack_link(self, incident_id: str, now: datetime, to: str = SHARED) -> str:
        oncall = self.config.oncall
        minutes = oncall.tap_link_minutes if to != SHARED else oncall.ack_link_minutes
        ttl = timedelta(minutes=minutes)
        return ack_url(self.base_url, self.key, incident_id, now, ttl, person=to or None)


def build_page(
    row: IncidentRow,
    step: str,
    now: datetime,
    incident: Incident | None = None,
    *,
    key: str | None = None,
    link: str | None = None,
    update: str = "",
) -> Page:
    """The page of one step of an incident (``link``: its signed acknowledge link)."""
    return Page(
        incident_id=row.id,
        dedup_key=key or dedup_key_for(row.id),
        step=step,
        brand=row.brand,
        kind=row.kind,
        severity=row.severity,
        title=_title(row),
        explanation=row.explanation,
        created_at=now,
        ack_url=link,
        update=update,
        figures=tuple(figures(incident).items()) if incident else (),
    )


def record_decision(session: Session, row: IncidentRow, action: str, now: datetime) -> int:
    """A person's acknowledge or resolve, in the transaction that records it: the round's
    unsent escalation is cancelled and its notice written to everyone the round's pages
    reached, whatever the detector decides next (a storm still signalling opens a new
    round; this one stays closed). Returns how many notices were written."""
    paging = Paging.of(row)
    step = "acknowledge" if action in ("ack", "acknowledge") else "resolve"
    keep = (FOLLOWUP,) if step == "acknowledge" else ()
    cancel_pending(session, paging.key, now, _CLOSING_REASONS[step], keep=keep)
    written = Written.load(session, [paging.key])[paging.key]
    return write_closing(session, paging, paging.key, written, now, now, step)


def close_past_rounds(
    session: Session, paging: Paging, now: datetime, written: Mapping[str, Written]
) -> int:
    """Earlier rounds of a reopened incident stay closed: pending escalation cancelled, and
    their acknowledge / resolve notices written to everyone their pages reached (also a
    page that landed after the decision, or a notice lost before this was in place)."""
    added = 0
    for past in paging.rounds[:-1]:
        key = dedup_key_for(paging.row.id, past.number)
        rows = written[key]
        if rows.cancellable(()):
            cancel_pending(session, key, now, "resolved")
        added += write_closing(session, paging, key, rows, past.acknowledged_at, now)
        added += write_closing(session, paging, key, rows, past.resolved_at, now, "resolve")
    return added


def write_closing(
    session: Session,
    paging: Paging,
    key: str,
    written: Written,
    moment: datetime | None,
    now: datetime,
    step: str = "acknowledge",
) -> int:
    """Step ``step`` (acknowledge / resolve), due ``moment``, to everyone paged under ``key``."""
    if moment is None or moment > now:
        return 0
    added = 0
    for who, was in written.paged().items():
        if written.has(step, who):
            continue
        notice = Step(moment, step, 0, who, was.channels, _CLOSING_REASONS[step])
        page = build_page(paging.row, step, now, paging.incident, key=key)
        added += int(enqueue_step(session, notice, page, now).enqueued)
    return added


@dataclass(frozen=True)
class Paging:
    """An incident as the paging stage sees it: its row, state, and current paging round.

    A round is one paging lifecycle: round 1 from opening; each time the detector reopens
    a resolved incident (timeline ``reopened``) a new round starts then, with its own
    dedup key, so it is paged afresh and PagerDuty opens a new alert. A history incident
    that went live (``went_live``) is paged from that moment, not from its opening.
    """

    row: IncidentRow
    incident: Incident | None
    number: int
    began: datetime
    rounds: tuple[Round, ...] = ()

    @classmethod
    def of(cls, row: IncidentRow) -> Paging:
        incident = _incident(row)
        timeline = incident.timeline if incident else []
        rounds = rounds_of(row.opened_at, timeline)
        starts = [e.at for e in timeline if e.event in ("reopened", "went_live")]
        return cls(row, incident, len(rounds), max([row.opened_at, *starts]), rounds)

    @property
    def key(self) -> str:
        return dedup_key_for(self.row.id, self.number)

    def round_keys(self) -> list[str]:
        """The dedup keys of every round, the current one last."""
        return [dedup_key_for(self.row.id, n) for n in range(1, self.number + 1)]

    def continues(self, zone: str) -> str:
        """For a round after a resolve: what its pages say first ('' in round 1)."""
        if self.number <= 1 or len(self.rounds) < 2 or self.rounds[-2].resolved_at is None:
            return ""
        at = self.rounds[-2].resolved_at.astimezone(ZoneInfo(zone)).strftime("%H:%M %Z")
        return (
            f"The storm continues after it was resolved at {at}: "
            f"paging afresh (round {self.number})."
        )


@dataclass(frozen=True)
class Round:
    """One paging round of an incident, and the decisions people made in it."""

    number: int
    began: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None


def rounds_of(opened_at: datetime, timeline: Sequence[TimelineEntry]) -> tuple[Round, ...]:
    """The rounds in an incident's timeline: each ``reopened`` starts one; in each, the first
    acknowledgement and the last resolve (manual or quiet period) made in it."""
    rounds = [Round(1, opened_at)]
    for entry in timeline:
        last = rounds[-1]
        if entry.event == "reopened":
            rounds.append(Round(len(rounds) + 1, entry.at))
        elif entry.event == "acknowledged" and last.acknowledged_at is None:
            rounds[-1] = replace(last, acknowledged_at=entry.at)
        elif entry.event == "resolved":
            rounds[-1] = replace(last, resolved_at=entry.at)
    return tuple(rounds)


def open_storms(rows: Iterable[IncidentRow]) -> dict[str, str]:
    """Brand -> id of its open live storm (the inhibiting incident)."""
    found: dict[str, str] = {}
    for row in rows:
        if row.origin == "live" and row.family == "storm" and row.status in OPEN:
            found.setdefault(row.brand, row.id)
    return found


def figures(incident: Incident) -> dict[str, float]:
    """The numbers a follow-up compares: severity rank, peak observed, posts, signals."""
    return {
        "severity": float(SEVERITY_RANK.get(incident.severity, 0)),
        "peak": float(incident.peak.observed),
        "posts": float(len(incident.post_ids)),
        "signals": float(incident.signal_count),
    }


def signal_figures(signal: Signal) -> dict[str, float]:
    """Baseline for a page written before pages carried figures: the first signal's."""
    return {
        "severity": float(SEVERITY_RANK.get(signal.severity, 0)),
        "peak": float(signal.observed),
        "posts": float(len(signal.post_ids)),
        "signals": 1.0,
    }


def describe_growth(
    before: Mapping[str, float], after: Mapping[str, float], grew: Sequence[str]
) -> str:
    """One line for a follow-up: what grew since the last page, with the old numbers."""
    parts = [f"{after.get('posts', 0):.0f} complaint posts (was {before.get('posts', 0):.0f})"]
    parts.append(f"peak {after.get('peak', 0):g} (was {before.get('peak', 0):g})")
    severity = _SEVERITY_NAMES.get(int(after.get("severity", 0)), "?")
    was = _SEVERITY_NAMES.get(int(before.get("severity", 0)), "?")
    parts.append(f"severity {severity}" + (f" (was {was})" if severity != was else ""))
    return f"Update: the storm is growing ({', '.join(grew)}): {'; '.join(parts)}."


def _incident(row: IncidentRow) -> Incident | None:
    if not row.state or row.state == "{}":
        return None
    try:
        return codec.loads(row.state)
    except (KeyError, TypeError, ValueError):
        log.warning("incident state unreadable; no follow-ups", extra={"incident": row.id})
        return None


class Written:
    """An incident's outbox rows, read once per tick: what was paged, held, followed up."""

    def __init__(self, rows: Sequence[OutboxRow], delivered: set[int]) -> None:
        self.rows = list(rows)
        self.delivered = delivered  # ids of rows with a successful delivery
        self._keys = {(r.step, r.recipient) for r in self.rows}

    @classmethod
    def load(cls, session: Session, keys: Sequence[str]) -> dict[str, Written]:
        """Every listed incident's rows in two queries (not two per incident)."""
        ok = (
            select(DeliveryRow.outbox_id)
            .join(OutboxRow, col(OutboxRow.id) == col(DeliveryRow.outbox_id))
            .where(col(OutboxRow.dedup_key).in_(keys), col(DeliveryRow.ok).is_(True))
        )
        delivered = set(session.exec(ok))
        query = select(OutboxRow).where(col(OutboxRow.dedup_key).in_(keys))
        by_key: dict[str, list[OutboxRow]] = {key: [] for key in keys}
        for row in session.exec(query.order_by(col(OutboxRow.id))):
            by_key[row.dedup_key].append(row)
        return {key: cls(rows, delivered) for key, rows in by_key.items()}

    def has(self, step: str, recipient: str) -> bool:
        return (step, recipient) in self._keys

    def cancellable(self, keep: Sequence[str]) -> bool:
        """Whether ``cancel_pending`` with ``keep`` would cancel anything."""
        return any(
            r.status == "pending"
            and r.step not in CLOSING_STEPS
            and not any(r.step.startswith(prefix) for prefix in keep)
            for r in self.rows
        )

    def holds(self) -> list[OutboxRow]:
        return [r for r in self.rows if r.step.startswith(HOLD_STEP + ":")]

    def paged(self) -> dict[str, Step]:
        """Everyone a page reached (sent; or delivered, then its lease was lost), by name."""
        paged: dict[str, Step] = {}
        for row in self.rows:
            reached = row.status == "sent" or row.id in self.delivered
            if row.step in CLOSING_STEPS or not reached or row.recipient in paged:
                continue
            channels = tuple(json.loads(row.channels))
            if channels:
                paged[row.recipient] = Step(row.due_at, row.step, 0, row.recipient, channels, "")
        return paged

    def last_page(self) -> OutboxRow | None:
        """The last page everyone paged so far got: trigger, digest or follow-up."""
        pages = [
            r for r in self.rows if r.step == "trigger" or r.step.startswith(("digest:", FOLLOWUP))
        ]
        return max(pages, key=lambda r: (r.created_at, r.id or 0), default=None)

    def followups(self) -> int:
        """The highest ``followup:N`` written (0 if none)."""
        numbers = [r.step.split(":", 1)[1] for r in self.rows if r.step.startswith(FOLLOWUP)]
        return max((int(n) for n in numbers if n.isdigit()), default=0)


def _title(row: IncidentRow) -> str:
    """What the page is about; the brand is added by the channel's subject line."""
    what = "complaint storm" if row.family == "storm" else "an angry thread is taking off"
    return f"{what} ({row.kind.replace('_', ' ')})"


DIGEST_POSTS = 5  # posts quoted in a digest; the rest are a link away


def _flagged_brands(session: Session) -> list[str]:
    query = (
        sa.select(col(QueueItem.brand))
        .where(col(QueueItem.status) == "new", col(QueueItem.incident_id).is_(None))
        .distinct()
    )
    return sorted(session.execute(query).scalars())


def _last_digest(session: Session, key: str) -> datetime | None:
    query = sa.select(sa.type_coerce(sa.func.max(col(OutboxRow.created_at)), UTCDateTime)).where(
        col(OutboxRow.dedup_key) == key, col(OutboxRow.step).startswith("digest:")
    )
    return session.execute(query).scalar_one_or_none()


def _waiting_posts(session: Session, brand: str, since: datetime | None) -> list[Any]:
    """New flagged posts of ``brand`` in no incident, flagged after ``since``, by urgency."""
    rows = list_queue(session, QueueFilter(brand=brand, status="new", limit=200)).rows
    return [r for r in rows if r.incident_id is None and (since is None or r.flagged_at > since)]
