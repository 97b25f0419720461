"""Incidents: signals grouped per brand and kind-family, with a lifecycle. Pure, no database.

One incident per (brand, family) at a time — never one per post:

- families: ``storm`` (volume_surge, rising_storm, slow_burn) and ``thread``
  (thread_velocity). A signal whose dominant thread is already part of an open incident
  of the brand grows that incident instead (a viral thread also drives volume: one page,
  not two);
- ``apply(signal, now)`` returns a :class:`BookUpdate` with an action and a named reason:
  ``opened`` (new_incident), ``grown`` (same_family_open), ``escalated`` (severity_increased),
  ``reopened`` (within_cooldown: a resolved incident of that family ended less than
  ``cooldown`` ago), ``went_live`` (a history incident receives a live signal);
- **Bursty brands are watched before they page.** A brand whose surges have died out
  within ``confirm_after`` (60 minutes) at least ``bursts_to_watch`` (1) time in the last
  ``burst_memory`` (28 days) has traffic that bursts: on real Twitter traffic ordinary
  5-15 minute bursts of 5-30x are daily events, as strong as the labelled storms
  (benchmarks/RESULTS.md, "Real traffic, AFTER issue 19"). There a new or reopened incident
  starts ``watching`` (origin; shown, not paged, reason ``short_bursts``) and goes live —
  and pages, reason ``lasted`` — on the first signal after it has lasted
  ``confirm_after``; a burst that dies first resolves unpaged. A brand whose surges last
  (smooth traffic, the simulator's) pages at once, as before. The "Prometheus ``for:``"
  rule, learned per brand from its own incidents;
- ``tick(now)`` resolves incidents with no signal for ``quiet_period`` (reason
  ``quiet_period``); ``acknowledge`` / ``resolve`` are the manager's actions;
- ``pages`` is true for opened, reopened and went_live, and for escalated when the incident
  had been acknowledged (it goes back to triggered; an unacknowledged incident is being paged
  already, the page just carries the new severity) — never for history incidents (signals
  computed on data from before the cut-over).

State is plain dataclasses (``Incident``, ``TimelineEntry``, ``Signal``) so the lead can
persist them and rebuild a book with ``IncidentBook(config, incidents)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.detect.events import SEVERITY_RANK, Severity, Signal
from monitor.detect.reasons import Action, BookReason

FAMILIES: dict[str, str] = {
    "volume_surge": "storm",
    "rising_storm": "storm",
    "slow_burn": "storm",
    "thread_velocity": "thread",
}
PAGING_ACTIONS = frozenset({Action.OPENED, Action.REOPENED, Action.WENT_LIVE})


@dataclass(frozen=True)
class IncidentConfig:
    quiet_period: timedelta = timedelta(hours=2)
    cooldown: timedelta = timedelta(hours=6)
    max_post_ids: int = 1000
    grow_note_every: timedelta = timedelta(minutes=30)
    confirm_after: timedelta = timedelta(minutes=60)
    burst_memory: timedelta = timedelta(days=28)
    bursts_to_watch: int = 1


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    event: str  # opened, grown, escalated, reopened, went_live, acknowledged, resolved
    reason: str
    detail: str = ""


@dataclass
class Incident:
    id: str
    brand: str
    family: str
    kind: str
    severity: Severity
    status: str  # triggered | acknowledged | resolved
    origin: str  # live | history | watching (a bursty brand's surge, paged if it lasts)
    opened_at: datetime
    onset_at: datetime
    last_signal_at: datetime
    first: Signal
    peak: Signal
    last: Signal
    kinds: list[str] = field(default_factory=list)
    post_ids: list[str] = field(default_factory=list)
    thread_ids: list[str] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    signal_count: int = 1
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"

    @property
    def delay(self) -> timedelta:
        """Detection delay: from the estimated onset to the first signal."""
        return self.opened_at - self.onset_at


@dataclass(frozen=True)
class BookUpdate:
    incident: Incident
    action: Action
    reason: BookReason
    rearmed: bool = False  # an acknowledged incident went back to triggered

    @property
    def pages(self) -> bool:
        paging = self.action in PAGING_ACTIONS or self.rearmed
        return paging and self.incident.origin == "live" and self.incident.status == "triggered"


class IncidentBook:
    def __init__(
        self, config: IncidentConfig = IncidentConfig(), incidents: Iterable[Incident] = ()
    ) -> None:
        self.config = config
        self.incidents: list[Incident] = list(incidents)

    def open_incidents(self, brand: str | None = None) -> list[Incident]:
        return [i for i in self.incidents if i.is_open and brand in (None, i.brand)]

    def get(self, incident_id: str) -> Incident:
        for incident in self.incidents:
            if incident.id == incident_id:
                return incident
        raise KeyError(incident_id)

    def apply(self, signal: Signal, now: datetime) -> BookUpdate:
        family = FAMILIES.get(signal.kind, signal.kind)
        current = self._open_for(signal, family)
        if current is not None:
            return self._grow(current, signal, now)
        recent = self._recently_resolved(signal.brand, family, now)
        if recent is not None:
            return self._reopen(recent, signal, now)
        return self._open(signal, family, now)

    def tick(self, now: datetime) -> list[BookUpdate]:
        updates = []
        for incident in self.open_incidents():
            if now - incident.last_signal_at >= self.config.quiet_period:
                updates.append(self._close(incident, now, BookReason.QUIET_PERIOD))
        return updates

    def acknowledge(self, incident_id: str, now: datetime, by: str = "") -> BookUpdate:
        incident = self.get(incident_id)
        incident.status = "acknowledged"
        incident.acknowledged_at = now
        incident.timeline.append(TimelineEntry(now, Action.ACKNOWLEDGED, BookReason.MANAGER, by))
        return BookUpdate(incident, Action.ACKNOWLEDGED, BookReason.MANAGER)

    def resolve(
        self, incident_id: str, now: datetime, reason: BookReason = BookReason.MANUAL
    ) -> BookUpdate:
        return self._close(self.get(incident_id), now, reason)

    def _open_for(self, signal: Signal, family: str) -> Incident | None:
        for incident in self.open_incidents(signal.brand):
            if incident.family == family:
                return incident
        for incident in self.open_incidents(signal.brand):
            if signal.thread_id and signal.thread_id in incident.thread_ids:
                return incident
        return None

    def _recently_resolved(self, brand: str, family: str, now: datetime) -> Incident | None:
        for incident in reversed(self.incidents):
            if incident.brand == brand and incident.family == family and incident.resolved_at:
                if now - incident.resolved_at <= self.config.cooldown:
                    return incident
                return None
        return None

    def _open(self, signal: Signal, family: str, now: datetime) -> BookUpdate:
        incident = Incident(
            id=f"{signal.brand}:{family}:{now.strftime('%Y%m%dT%H%MZ')}",
            brand=signal.brand,
            family=family,
            kind=signal.kind,
            severity=signal.severity,
            status="triggered",
            origin=self._origin(signal, family, now),
            opened_at=now,
            onset_at=signal.window_start,
            last_signal_at=now,
            first=signal,
            peak=signal,
            last=signal,
            kinds=[signal.kind],
        )
        self._absorb(incident, signal)
        incident.timeline.append(TimelineEntry(now, Action.OPENED, signal.reason, _detail(signal)))
        self.incidents.append(incident)
        watched = incident.origin == "watching"
        reason = BookReason.SHORT_BURSTS if watched else BookReason.NEW_INCIDENT
        return BookUpdate(incident, Action.OPENED, reason)

    def _grow(self, incident: Incident, signal: Signal, now: datetime) -> BookUpdate:
        escalated = SEVERITY_RANK[signal.severity] > SEVERITY_RANK[incident.severity]
        lasted = now - _episode_start(incident) >= self.config.confirm_after
        if incident.origin == "watching" and lasted:
            incident.origin = "live"  # pages unless a manager acknowledged it meanwhile
            self._absorb(incident, signal)
            incident.last_signal_at = now
            incident.signal_count += 1
            return self._note(incident, now, Action.WENT_LIVE, BookReason.LASTED, signal)
        went_live = incident.origin == "history" and not signal.history
        noted = incident.timeline[-1].at if incident.timeline else incident.opened_at
        self._absorb(incident, signal)
        incident.last_signal_at = now
        incident.signal_count += 1
        if went_live:
            incident.origin = "live"
            incident.status = "triggered"
            return self._note(incident, now, Action.WENT_LIVE, BookReason.LIVE_SIGNAL, signal)
        if escalated:
            rearmed = incident.status == "acknowledged"
            incident.severity = signal.severity
            incident.status = "triggered"
            update = self._note(
                incident, now, Action.ESCALATED, BookReason.SEVERITY_INCREASED, signal
            )
            return BookUpdate(incident, update.action, update.reason, rearmed)
        if now - noted >= self.config.grow_note_every:
            incident.timeline.append(
                TimelineEntry(now, Action.GROWN, signal.reason, _detail(signal))
            )
        return BookUpdate(incident, Action.GROWN, BookReason.SAME_FAMILY_OPEN)

    def _reopen(self, incident: Incident, signal: Signal, now: datetime) -> BookUpdate:
        if not signal.history:  # decided before it reopens: its own burst counts
            incident.origin = self._origin(signal, incident.family, now)
        incident.status = "triggered"
        incident.resolved_at = None
        incident.acknowledged_at = None
        incident.severity = signal.severity
        self._absorb(incident, signal)
        incident.last_signal_at = now
        incident.signal_count += 1
        return self._note(incident, now, Action.REOPENED, BookReason.WITHIN_COOLDOWN, signal)

    def _origin(self, signal: Signal, family: str, now: datetime) -> str:
        if signal.history:
            return "history"
        return "watching" if self._bursty(signal.brand, family, now) else "live"

    def _bursty(self, brand: str, family: str, now: datetime) -> bool:
        """The brand's surges of this family (a short viral thread says nothing of its
        storms) died out within ``confirm_after`` at least ``bursts_to_watch``
        times in the last ``burst_memory`` (from the incidents' own timelines, so a
        restart that loads the recent incidents knows it too)."""
        since = now - self.config.burst_memory
        bursts = 0
        for incident in self.incidents:
            if incident.brand != brand or incident.family != family or not incident.resolved_at:
                continue
            if incident.resolved_at < since:
                continue
            bursts += _short_episodes(incident, since, self.config)
        return bursts >= self.config.bursts_to_watch

    def _note(
        self, incident: Incident, now: datetime, event: Action, reason: BookReason, signal: Signal
    ) -> BookUpdate:
        incident.timeline.append(TimelineEntry(now, event, reason, _detail(signal)))
        return BookUpdate(incident, event, reason)

    def _absorb(self, incident: Incident, signal: Signal) -> None:
        incident.last = signal
        if signal.kind not in incident.kinds:
            incident.kinds.append(signal.kind)
        if _strength(signal) > _strength(incident.peak):
            incident.peak = signal
        room = self.config.max_post_ids - len(incident.post_ids)
        known = set(incident.post_ids)
        incident.post_ids.extend([p for p in signal.post_ids if p not in known][: max(room, 0)])
        if signal.thread_id and signal.thread_id not in incident.thread_ids:
            incident.thread_ids.append(signal.thread_id)

    def _close(self, incident: Incident, now: datetime, reason: BookReason) -> BookUpdate:
        incident.status = "resolved"
        incident.resolved_at = now
        incident.timeline.append(TimelineEntry(now, Action.RESOLVED, reason))
        return BookUpdate(incident, Action.RESOLVED, reason)


def _strength(signal: Signal) -> tuple[int, float]:
    return SEVERITY_RANK[signal.severity], signal.observed - signal.expected


def _detail(signal: Signal) -> str:
    return (
        f"{signal.kind}: {signal.observed:g} observed vs {signal.expected:.2f} expected "
        f"({signal.ratio:g}x) in {int(signal.window.total_seconds() // 60)} min"
    )


def _episode_start(incident: Incident) -> datetime:
    """When the incident last opened or reopened (its current episode began)."""
    starts = [e.at for e in incident.timeline if e.event in (Action.OPENED, Action.REOPENED)]
    return starts[-1] if starts else incident.opened_at


def _short_episodes(incident: Incident, since: datetime, config: IncidentConfig) -> int:
    """Episodes (opened or reopened ... resolved for quiet) since ``since`` whose last
    signal came less than ``confirm_after`` after they began: surges that died out."""
    count, start = 0, None
    for entry in incident.timeline:
        if entry.event in (Action.OPENED, Action.REOPENED):
            start = entry.at
        elif entry.event == Action.RESOLVED and start is not None:
            quiet = entry.reason == BookReason.QUIET_PERIOD
            last_signal = entry.at - config.quiet_period
            if quiet and start >= since and last_signal - start < config.confirm_after:
                count += 1
            start = None
    return count
