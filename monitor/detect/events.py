"""The shapes detection works on: posts in, decisions and signals out.

Detection is pure: it never reads the clock and never touches the database. The lead's
pipeline turns stored posts into :class:`PostEvent` values, hands them to the engine with a
``now``, and persists what comes back.

Decisions carry named reasons (Alertmanager style). A detector's ``assess()`` always returns a
:class:`Decision`; when it fires, the decision holds a :class:`Signal`. Reasons used:

- firing: ``volume_surge``, ``rising_storm``, ``slow_burn``, ``thread_velocity``;
- holding back: ``below_min_count``, ``below_min_ratio``, ``within_expected``,
  ``expected_spike_window``, ``history_only`` (fired on data from before the cut-over; the
  signal is marked ``history`` and never pages), ``not_negative``, ``no_active_thread``,
  ``burn_subsided``, ``not_rising``, ``below_threshold``, ``below_min_excess``, ``warming_up``.

Complaint evidence: a post counts towards the complaint count only when its complaint
probability is at least its threshold (``PostEvent.threshold``: the classifier's calibrated
threshold for the post's language; ``complaint_floor`` 0.5 when the reading carries none),
and then with its probability; under it, 0. Summed probabilities let a burst of neutral or
positive posts (a launch nobody annotated) add up to a storm: 91 such posts once summed to
24 "complaints". (Counting each post over its threshold as 1 was tried: it moved the
simulator's tuned delays and tests, so it waits for a tuning pass of its own.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from monitor.detect.reasons import Quiet, SignalKind

Severity = Literal["warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"warning": 1, "critical": 2}
COMPLAINT_FLOOR = 0.5
ANGRY_AT = 0.5


@dataclass(frozen=True, slots=True)
class PostEvent:
    """One post (or comment) about one brand, already classified."""

    post_id: str
    brand: str
    at: datetime  # aware UTC: published_at, or fetched_at when unknown
    complaint: float  # probability 0..1
    negative: float  # probability 0..1
    thread_id: str | None = None
    is_comment: bool = False
    source: str = ""
    lang: str | None = None
    title: str | None = None
    text_snippet: str = ""
    url: str | None = None
    threshold: float | None = None  # the classifier's calibrated complaint threshold
    author: str | None = None  # as the source names them (monitor/detect/voices.py)
    also: tuple[str, ...] = ()  # the other brands the post names (monitor/detect/competitors.py)


def complaint_weight(probability: float, threshold: float = COMPLAINT_FLOOR) -> float:
    """What one post adds to the complaint count: its probability at or over its threshold,
    else 0."""
    return probability if probability >= threshold else 0.0


def is_angry(event: PostEvent) -> bool:
    """A post that reads as negative or as a complaint (for 'share negative')."""
    return max(event.negative, event.complaint) >= ANGRY_AT


@dataclass(frozen=True)
class Signal:
    """A detector fired: what, for whom, how bad, and the numbers behind it."""

    kind: str  # volume_surge | rising_storm | slow_burn | thread_velocity
    brand: str
    severity: Severity
    reason: str  # named reason; equals kind for a live firing signal
    at: datetime  # the `now` it was evaluated at
    window_start: datetime
    window_end: datetime
    observed: float  # probability-weighted complaints (comments for threads)
    expected: float
    ratio: float
    p_value: float | None = None
    score: float | None = None  # CUSUM statistic for slow_burn and rising_storm
    mentions: int = 0
    share_negative: float = 0.0
    post_ids: tuple[str, ...] = ()
    thread_id: str | None = None  # the thread (thread_velocity) or dominant thread (volume)
    history: bool = False  # computed on data from before the cut-over: never pages

    @property
    def window(self) -> timedelta:
        return self.window_end - self.window_start


@dataclass(frozen=True)
class Decision:
    """The outcome of one detector for one brand at one `now`, fired or not, with a reason."""

    kind: SignalKind
    brand: str
    at: datetime
    reason: SignalKind | Quiet
    observed: float = 0.0
    expected: float = 0.0
    p_value: float | None = None
    signal: Signal | None = None

    @property
    def fired(self) -> bool:
        return self.signal is not None
