"""Expected-spike annotations: campaign and announcement windows per brand.

A team tells Stormwatch "we launch on Tuesday 10:00-16:00". Inside such a window:

- mention *volume* is expected: extra mentions above the baseline are assumed to bring
  complaints at ``complaint_share`` (5%: classifier noise and the odd grumble) and that many
  complaints are added to the expectation, so a happy (or merely loud) launch does not page;
- a real complaint storm still pages: the test stays a count test on complaint mass, with the
  required ratio raised by ``ratio_factor`` (1.5x) — moderately, not switched off.

When a volume surge is held back only because of a window, the decision's reason is
``expected_spike_window``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import numpy as np

N = TypeVar("N", float, np.ndarray)


@dataclass(frozen=True)
class ExpectedSpike:
    brand: str
    start: datetime
    end: datetime
    label: str = ""
    ratio_factor: float = 1.5
    complaint_share: float = 0.05

    def allowance(self, mentions: N, expected_mentions: N) -> N:
        """Complaints the annotated event may bring: its extra mentions x complaint_share
        (a window's totals, or per bucket as arrays)."""
        extra: N = np.maximum(0.0, mentions - expected_mentions) * self.complaint_share
        return extra

    def covers(self, brand: str, now: datetime) -> bool:
        return brand == self.brand and self.start <= now < self.end


class SpikeCalendar:
    """The annotated windows, looked up by brand and time."""

    def __init__(self, spikes: Iterable[ExpectedSpike] = ()) -> None:
        self._by_brand: dict[str, list[ExpectedSpike]] = {}
        for spike in spikes:
            self.add(spike)

    def add(self, spike: ExpectedSpike) -> None:
        self._by_brand.setdefault(spike.brand, []).append(spike)

    def active(self, brand: str, now: datetime) -> ExpectedSpike | None:
        for spike in self._by_brand.get(brand, ()):
            if spike.covers(brand, now):
                return spike
        return None

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_brand.values())
