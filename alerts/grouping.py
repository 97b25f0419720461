"""Grouping, inhibition and repetition: pure "page or not" decisions with named reasons.

Modelled on Alertmanager's pipeline (route -> group -> inhibit -> dedup -> repeat): each
function takes what it needs, including ``now``, and returns a ``Decision``. Reasons:

- ``inhibited_by_storm`` / ``no_open_storm`` / ``is_a_storm``: an open storm for a brand
  holds back that brand's other pages (a fast thread, a single flagged post): the storm
  page already covers them. Storms themselves are never held back.
- ``followup_due`` / ``followup_too_soon`` / ``no_growth``: a growing storm gets follow-ups
  at most every N minutes, never a new page. ``growth`` names what grew since the last
  page: ``severity_rose``, ``peak_rose``, ``posts_grew``.
- ``repeat_due`` / ``repeat_limit_reached``: unacknowledged pages repeat up to a limit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "STORM_KINDS",
    "Decision",
    "followup_decision",
    "followup_step",
    "growth",
    "inhibit_decision",
    "repeat_decision",
]

# a family or a detector kind
STORM_KINDS = frozenset({"storm", "volume_surge", "rising_storm", "slow_burn"})


# The named reasons of the paging decisions: a typo is a type error, and the strings logs,
# metrics and the UI show are the ones they always were.
PageReason = Literal[
    "is_a_storm",
    "inhibited_by_storm",
    "no_open_storm",
    "no_growth",
    "followup_too_soon",
    "followup_due",
    "repeat_limit_reached",
    "repeat_due",
]


@dataclass(frozen=True)
class Decision:
    """Whether to send, and the named reason logs, metrics and the UI show."""

    send: bool
    reason: PageReason


def inhibit_decision(kind: str, brand: str, open_storm_brands: Collection[str]) -> Decision:
    """Hold back a non-storm page (thread, single post) while a storm for the brand is open."""
    if kind in STORM_KINDS:
        return Decision(True, "is_a_storm")
    if brand in open_storm_brands:
        return Decision(False, "inhibited_by_storm")
    return Decision(True, "no_open_storm")


def growth(
    before: Mapping[str, float], after: Mapping[str, float], min_growth: float
) -> tuple[str, ...]:
    """What grew from ``before`` to ``after`` (figures ``severity``, ``peak``, ``posts``).

    Any rise in the severity rank counts; the peak and the post count must grow by at least
    ``min_growth`` (a fraction: 0.25 = a quarter more) so a steady storm's trickle of new
    posts does not page every few minutes.
    """
    reasons = []
    if after.get("severity", 0.0) > before.get("severity", 0.0):
        reasons.append("severity_rose")
    for key, reason in (("peak", "peak_rose"), ("posts", "posts_grew")):
        was, now = before.get(key, 0.0), after.get(key, 0.0)
        if now > was and now >= was * (1 + min_growth):
            reasons.append(reason)
    return tuple(reasons)


def followup_decision(
    grew: bool, last_page_at: datetime, now: datetime, every: timedelta
) -> Decision:
    """A follow-up for a growing storm, at most once per ``every`` since the last page."""
    if not grew:
        return Decision(False, "no_growth")
    if now - last_page_at < every:
        return Decision(False, "followup_too_soon")
    return Decision(True, "followup_due")


def followup_step(followups_sent: int) -> str:
    """The step name of the next follow-up (``followup:1``, ``followup:2``...)."""
    return f"followup:{followups_sent + 1}"


def repeat_decision(repeats_sent: int, limit: int) -> Decision:
    """Repeat an unacknowledged page unless the loop limit is reached."""
    if repeats_sent >= limit:
        return Decision(False, "repeat_limit_reached")
    return Decision(True, "repeat_due")
