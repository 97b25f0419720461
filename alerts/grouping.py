"""Grouping, inhibition and repetition: pure "page or not" decisions with named reasons.

Modelled on Alertmanager's pipeline (route -> group -> inhibit -> dedup -> repeat): each
function takes what it needs, including ``now``, and returns a ``Decision``. Reasons:

- ``inhibited_by_storm`` / ``no_open_storm``: an open storm for a brand holds back
  single-post pages for that brand (the storm page already covers them).
- ``followup_due`` / ``followup_too_soon`` / ``no_growth``: a growing storm gets follow-ups
  at most every N minutes, never a new page.
- ``repeat_due`` / ``repeat_limit_reached``: unacknowledged pages repeat up to a limit.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "SINGLE_POST_KINDS",
    "Decision",
    "followup_decision",
    "followup_step",
    "inhibit_decision",
    "repeat_decision",
]

SINGLE_POST_KINDS = frozenset({"post", "flagged_post"})


@dataclass(frozen=True)
class Decision:
    """Whether to send, and the named reason logs, metrics and the UI show."""

    send: bool
    reason: str


def inhibit_decision(kind: str, brand: str, open_storm_brands: Collection[str]) -> Decision:
    """Hold back a single-post page while a storm for the same brand is open."""
    if kind not in SINGLE_POST_KINDS:
        return Decision(True, "not_a_single_post")
    if brand in open_storm_brands:
        return Decision(False, "inhibited_by_storm")
    return Decision(True, "no_open_storm")


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
