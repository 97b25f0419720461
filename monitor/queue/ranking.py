"""How urgent a flagged post is. Pure functions; time passed in.

``urgency`` is what the post weighs now: the complaint probability, raised by reach (how
many comments its thread has) and velocity (how many arrived in the last hours). The queue
is ordered by urgency decayed with age, ``urgency * exp(-age / DECAY_S)``. Because
``ln(u) - age/DECAY_S = ln(u) + published_ts/DECAY_S - now/DECAY_S`` and the last term is
the same for every row, ordering by ``rank = ln(u) + published_ts / DECAY_S`` gives the same
order at every moment: a stored, indexed column that never needs recomputing as time passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

# Why 12 hours: a complaint half a day old is worth 1/e of a fresh one of the same weight;
# a day-old one needs ~7x the weight (a viral thread) to stay above a fresh single post.
DECAY_S = 12 * 3600.0
# Why log-scaled reach: the 200th comment matters less than the 2nd; 0.25 makes a thread
# of ~50 comments weigh twice a lone post.
REACH_WEIGHT = 0.25
VELOCITY_WINDOW = timedelta(hours=6)
VELOCITY_WEIGHT = 0.35
_FLOOR = 1e-6  # ln(0) guard: a zero-probability item still sorts, last


@dataclass(frozen=True)
class Reach:
    comments: int = 0  # comments in the post's thread
    recent: int = 0  # of which in the last VELOCITY_WINDOW


def urgency(complaint: float, reach: Reach) -> float:
    boost = (
        1 + REACH_WEIGHT * math.log1p(reach.comments) + VELOCITY_WEIGHT * math.log1p(reach.recent)
    )
    return max(complaint, 0.0) * boost


def rank(urgency_value: float, published_at: datetime) -> float:
    return math.log(max(urgency_value, _FLOOR)) + published_at.timestamp() / DECAY_S


def decayed(urgency_value: float, published_at: datetime, now: datetime) -> float:
    """The urgency as the queue weighs it at ``now`` (for display)."""
    age = max((now - published_at).total_seconds(), 0.0)
    return urgency_value * math.exp(-age / DECAY_S)
