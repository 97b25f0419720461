"""A ten-second explanation of an incident for the manager on duty.

``explain(incident, events)`` takes the incident and the posts the lead loaded for it (any
superset is fine: only the incident's post ids and threads are used) and returns an
:class:`Explanation`: structured numbers for the UI/JSON, and ``text`` — plain text, no
markup (post content is untrusted; the UI escapes it). Lines, in reading order:

1. headline: brand, what (volume surge / slow burn / thread velocity), severity, since when
   and, once resolved, when it ended (its last signal);
2. baseline vs observed and how unusual (ratio, p-value or CUSUM score);
3. share negative of the incident's posts;
4. top sources and threads; languages;
5. three representative posts from within the storm (published at or after its onset: a
   later signal's longer window also brings in posts from before it began), highest
   complaint probability, one per source first.

Times are written in UTC (``STAMP``); :func:`headline_in` rewrites them in a viewer's zone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from monitor.detect.events import PostEvent, Signal, is_angry
from monitor.detect.incidents import Incident

WHAT = {
    "volume_surge": "complaint surge",
    "rising_storm": "complaint storm building up",
    "slow_burn": "slow-burning rise in complaints",
    "thread_velocity": "fast-growing angry thread",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
STAMP = "%Y-%m-%d %H:%M UTC"  # how a headline writes a time
_STAMPED = re.compile(r"\b(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC\b")


@dataclass(frozen=True)
class Representative:
    post_id: str
    source: str
    complaint: float
    title: str
    snippet: str
    url: str | None
    at: datetime | None = None  # published (or fetched, when unknown)


@dataclass(frozen=True)
class Explanation:
    headline: str
    lines: tuple[str, ...]
    observed: float
    expected: float
    ratio: float
    p_value: float | None
    share_negative: float
    posts: int
    top_sources: tuple[tuple[str, int], ...]
    top_threads: tuple[tuple[str, int], ...]
    languages: tuple[tuple[str, int], ...]
    representatives: tuple[Representative, ...]

    @property
    def text(self) -> str:
        return "\n".join((self.headline, *self.lines))


def explain(incident: Incident, events: Iterable[PostEvent]) -> Explanation:
    posts = _incident_posts(incident, events)
    peak = incident.peak
    sources = tuple(Counter(p.source or "unknown" for p in posts).most_common(3))
    threads = tuple(Counter(p.thread_id for p in posts if p.thread_id).most_common(3))
    langs = tuple(Counter(p.lang or "?" for p in posts).most_common(4))
    share = sum(is_angry(p) for p in posts) / len(posts) if posts else peak.share_negative
    reps = representatives(within_storm(incident, posts))
    lines = (
        _numbers_line(peak),
        f"Share negative: {share:.0%} of {len(posts)} posts.",
        "Top sources: " + _counts(sources),
        "Top threads: " + (_counts(threads) if threads else "none"),
        "Languages: " + _counts(langs),
        "Representative posts:",
        *(_rep_line(n, r) for n, r in enumerate(reps, 1)),
    )
    return Explanation(
        _headline(incident),
        lines,
        peak.observed,
        peak.expected,
        peak.ratio,
        peak.p_value,
        share,
        len(posts),
        sources,
        threads,
        langs,
        reps,
    )


def _incident_posts(incident: Incident, events: Iterable[PostEvent]) -> list[PostEvent]:
    ids = set(incident.post_ids)
    threads = set(incident.thread_ids)
    seen: dict[str, PostEvent] = {}
    for e in events:
        if e.brand == incident.brand and (e.post_id in ids or e.thread_id in threads):
            seen.setdefault(e.post_id, e)
    return list(seen.values())


def within_storm(incident: Incident, posts: Iterable[PostEvent]) -> list[PostEvent]:
    """The posts published at or after the storm's onset."""
    return [p for p in posts if p.at >= incident.onset_at]


def _headline(incident: Incident) -> str:
    what = " + ".join(WHAT.get(k, k) for k in incident.kinds)
    since = incident.onset_at.astimezone(UTC).strftime(STAMP)
    origin = " [history]" if incident.origin == "history" else ""
    ended = ""
    if incident.resolved_at is not None:  # the surge ended at its last signal, not at the tick
        ended = f", ended at {incident.last_signal_at.astimezone(UTC).strftime(STAMP)}"
    return (
        f"{incident.brand}: {what} ({incident.severity}, {incident.status}) since {since}"
        f"{ended}{origin}"
    )


def headline_in(headline: str, zone: tzinfo) -> str:
    """``headline`` with its UTC times (``STAMP``) written in ``zone``: "since 2026-11-02
    08:40 UTC" reads "since 2026-11-02 09:40 CET" in Copenhagen."""

    def local(match: re.Match[str]) -> str:
        moment = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    return _STAMPED.sub(local, headline)


def _numbers_line(signal: Signal) -> str:
    minutes = int(signal.window.total_seconds() // 60)
    span = f"{minutes} min" if minutes < 180 else f"{minutes / 60:.0f} h"
    unit = "comments" if signal.kind == "thread_velocity" else "complaints"
    if signal.p_value is not None:
        unusual = f"p = {signal.p_value:.1e}"
    else:
        unusual = f"CUSUM score {signal.score}"
    return (
        f"Observed {signal.observed:.1f} {unit} in {span} vs {signal.expected:.1f} expected "
        f"for this hour of the week: {signal.ratio:g}x normal ({unusual})."
    )


def representatives(posts: list[PostEvent], count: int = 3) -> tuple[Representative, ...]:
    """Highest complaint probability first, one per source before repeating a source."""
    ranked = sorted(posts, key=lambda p: -p.complaint)
    chosen: list[PostEvent] = []
    sources: set[str] = set()
    for post in ranked:
        if len(chosen) < count and post.source not in sources:
            chosen.append(post)
            sources.add(post.source)
    chosen += [p for p in ranked if p not in chosen][: count - len(chosen)]
    return tuple(_rep(p) for p in chosen)


def _rep(post: PostEvent) -> Representative:
    return Representative(
        post.post_id,
        post.source,
        post.complaint,
        _clean(post.title or "", 80),
        _clean(post.text_snippet, 140),
        post.url,
        post.at,
    )


def _rep_line(n: int, rep: Representative) -> str:
    title = f'"{rep.title}" ' if rep.title else ""
    return (
        f"  {n}. [{rep.complaint:.2f} {rep.source}] {title}{rep.snippet} {rep.url or ''}".rstrip()
    )


def _counts(items: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{name} ({n})" for name, n in items) or "none"


def _clean(text: str, limit: int) -> str:
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
