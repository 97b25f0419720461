"""Replay posts on a simulated clock through the engine and the incident book.

``replay(events, ...)`` sorts the posts by time and steps a clock (default every 5 minutes):
at each tick the posts published up to that tick are observed, every detector is evaluated,
signals go to the :class:`IncidentBook` and quiet incidents resolve. The result lists the
incidents with onset (estimated start of the window that first fired) and detection time
(when the incident opened), and every page. ``stormwatch backtest`` is a thin wrapper.

``evaluate_from`` skips evaluation (only observes) before a time — a warm-up that fills the
baseline cheaply. ``live_since`` makes the earlier part history: it never pages, and storms
that were over before it end as resolved history incidents (the first-crawl backlog case;
``replay_into`` is the same loop over an existing detector and book, for the daemon).

``events_from_jsonl(lines, score)`` reads backtest records (``id, title, text, lang, brand,
label, published_at, source, url, thread_id, parent_id`` and optional ``complaint`` /
``negative`` / ``threshold``, the calibrated complaint threshold of the reading);
``score`` classifies, in one batch, the records that carry no ``complaint``. Bad lines are
skipped with a warning naming the line; it never raises on input.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.detect.engine import DetectConfig, Detector
from monitor.detect.events import PostEvent
from monitor.detect.incidents import BookUpdate, Incident, IncidentBook, IncidentConfig
from monitor.detect.windows import ExpectedSpike

STEP = timedelta(minutes=5)
# page-worthy moments of an incident, as `backtest --json` lists them
REPORTED_EVENTS = frozenset({"opened", "reopened", "escalated", "went_live", "resolved"})
Score = Callable[[Sequence[Mapping[str, Any]]], Sequence[tuple[float, float]]]


@dataclass
class ReplayResult:
    incidents: list[Incident]
    paged: list[tuple[datetime, BookUpdate]]  # each update that paged, with when it did
    updates: list[BookUpdate]
    signals: int
    ticks: int
    seconds: float

    @property
    def pages(self) -> list[BookUpdate]:
        return [update for _, update in self.paged]

    def as_json(self) -> list[dict[str, Any]]:
        return [incident_summary(i) for i in self.incidents]


def incident_summary(incident: Incident) -> dict[str, Any]:
    """A JSON-ready summary (what `backtest --json` prints per incident), with every
    page-worthy event: opened, reopened, escalated, went live and resolved, with times."""
    return {
        "id": incident.id,
        "brand": incident.brand,
        "kind": incident.kind,
        "kinds": incident.kinds,
        "severity": incident.severity,
        "status": incident.status,
        "origin": incident.origin,
        "onset_at": incident.onset_at.isoformat(),
        "detected_at": incident.opened_at.isoformat(),
        "delay_minutes": round(incident.delay.total_seconds() / 60, 1),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "observed": incident.peak.observed,
        "expected": incident.peak.expected,
        "ratio": incident.peak.ratio,
        "p_value": incident.peak.p_value,
        "posts": len(incident.post_ids),
        "threads": incident.thread_ids,
        "events": [
            {"at": e.at.isoformat(), "event": e.event, "reason": e.reason}
            for e in incident.timeline
            if e.event in REPORTED_EVENTS
        ],
    }


@dataclass
class Clock:
    start: datetime
    end: datetime
    step: timedelta = STEP
    evaluate_from: datetime | None = None


def replay(
    events: Iterable[PostEvent],
    *,
    config: DetectConfig = DetectConfig(),
    incidents: IncidentConfig = IncidentConfig(),
    spikes: Iterable[ExpectedSpike] = (),
    step: timedelta = STEP,
    start: datetime | None = None,
    end: datetime | None = None,
    evaluate_from: datetime | None = None,
    live_since: datetime | None = None,
    detector: Detector | None = None,
) -> ReplayResult:
    ordered = sorted(events, key=lambda e: e.at)
    if not ordered:
        return ReplayResult([], [], [], 0, 0, 0.0)
    first = start or _floor(ordered[0].at, step)
    last = end or ordered[-1].at + incidents.quiet_period + step
    engine = detector or Detector(config, spikes, live_since)
    book = IncidentBook(incidents)
    return replay_into(engine, book, ordered, Clock(first, last, step, evaluate_from))


def replay_into(
    engine: Detector, book: IncidentBook, ordered: Sequence[PostEvent], clock: Clock
) -> ReplayResult:
    """Step `clock` over time-sorted `ordered` posts through `engine` and `book`."""
    began = time.perf_counter()
    updates: list[BookUpdate] = []
    paged: list[tuple[datetime, BookUpdate]] = []
    signals = ticks = i = 0
    now = clock.start
    while now <= clock.end:
        j = i
        while j < len(ordered) and ordered[j].at <= now:
            j += 1
        engine.observe(ordered[i:j])
        i = j
        if clock.evaluate_from is None or now >= clock.evaluate_from:
            found = engine.evaluate(now)
            signals += len(found)
            fresh = [book.apply(s, now) for s in found] + book.tick(now)
            paged += [(now, u) for u in fresh if u.pages]  # now: an origin changes later
            updates += fresh
            ticks += 1
        now += clock.step
    took = time.perf_counter() - began
    return ReplayResult(book.incidents, paged, updates, signals, ticks, took)


def _floor(at: datetime, step: timedelta) -> datetime:
    seconds = step.total_seconds()
    return datetime.fromtimestamp(at.timestamp() // seconds * seconds, UTC)


# -- JSONL ------------------------------------------------------------------------------
@dataclass
class JsonlLoad:
    events: list[PostEvent] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def events_from_jsonl(lines: Iterable[str], score: Score | None = None) -> JsonlLoad:
    """Posts from backtest JSONL; `score(records) -> [(complaint, negative)]` fills gaps."""
    load = JsonlLoad()
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        record = _record(line, number, load.warnings)
        if record is not None:
            records.append(record)
    _fill_scores(records, score, load.warnings)
    named: dict[str, set[str]] = {}  # a post about several brands is one record per brand
    for record in records:
        named.setdefault(str(record["id"]), set()).add(str(record["brand"]))
    for record in records:
        if "complaint" in record:
            event = _event(record)
            others = tuple(sorted(named[event.post_id] - {event.brand}))
            load.events.append(replace(event, also=others) if others else event)
    return load


def _record(line: str, number: int, warnings: list[str]) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except ValueError:
        warnings.append(f"line {number}: not JSON; skipped")
        return None
    if not isinstance(record, dict):
        warnings.append(f"line {number}: not a JSON object; skipped")
        return None
    missing = [k for k in ("id", "brand", "published_at") if not record.get(k)]
    if missing:
        warnings.append(f"line {number}: missing {', '.join(missing)}; skipped")
        return None
    at = _when(record["published_at"])
    if at is None:
        warnings.append(f"line {number}: published_at is not ISO 8601; skipped")
        return None
    record["_at"] = at
    return record


def _when(value: Any) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _fill_scores(records: list[dict[str, Any]], score: Score | None, warnings: list[str]) -> None:
    todo = [r for r in records if not _is_probability(r.get("complaint"))]
    for record in todo:
        record.pop("complaint", None)
    if not todo:
        return
    if score is None:
        warnings.append(
            f"{len(todo)} posts have no complaint probability and no classifier; skipped"
        )
        return
    for record, (complaint, negative) in zip(todo, score(todo), strict=True):
        record["complaint"] = complaint
        record.setdefault("negative", negative)


def _is_probability(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def _event(record: Mapping[str, Any]) -> PostEvent:
    text = str(record.get("text") or "")
    complaint = float(record["complaint"])
    negative = record.get("negative") if _is_probability(record.get("negative")) else None
    return PostEvent(
        post_id=str(record["id"]),
        brand=str(record["brand"]),
        at=record["_at"],
        complaint=complaint,
        negative=float(negative) if isinstance(negative, int | float) else complaint,
        thread_id=_text(record.get("thread_id")) or _text(record.get("parent_id")),
        is_comment=record.get("parent_id") is not None,
        source=str(record.get("source") or ""),
        lang=_text(record.get("lang")),
        title=_text(record.get("title")),
        text_snippet=text[:280],
        url=_text(record.get("url")),
        threshold=_probability(record.get("threshold")),
        author=_text(record.get("author")),
    )


def _probability(value: Any) -> float | None:
    return float(value) if _is_probability(value) else None


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
