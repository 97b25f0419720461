"""The detection engine: per-brand state, every detector, one call per tick.

``Detector.observe(events)`` files posts into each brand's :class:`BrandHistory` (ring
buffers: O(1) per post; duplicates by ``(brand, post_id)`` within three days are ignored).
``Detector.evaluate(now)`` runs every detector for every brand and returns the signals;
``assess(now)`` returns every decision, fired or not, with its named reason (for logs).

After a volume surge or a rising storm fires, the engine marks the surge's hours: the brand's
baseline counts them at most twice their expectation (a storm never becomes the new normal
through its own hours, and a marked hour never drags the expectation down), and the slow
burn counts them as zero.

A surge made of posts that also name a competitor in a storm of its own is the competitor's
storm (:mod:`monitor.detect.competitors`): the decision is tested again without them.

History safety: with ``live_since`` (when Stormwatch started), everything evaluated at a
``now`` before it is marked ``history`` (reason ``history_only``) and never pages; after it,
posts published before it are left out of every detector's window.

Detectors are pluggable: anything with ``kind`` and ``assess(history, now) -> Decision``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from monitor.detect.baseline import BaselineConfig, baseline_for
from monitor.detect.competitors import Limits, SharedPosts, attribute, storming_brands
from monitor.detect.events import COMPLAINT_FLOOR, Decision, PostEvent, Signal
from monitor.detect.history import HOUR_SECONDS, BrandHistory, hour_of, ts
from monitor.detect.reasons import SignalKind
from monitor.detect.rising import RisingConfig, RisingStorm
from monitor.detect.slowburn import SlowBurn, SlowBurnConfig
from monitor.detect.thread import ThreadConfig, ThreadVelocity
from monitor.detect.volume import VolumeConfig, VolumeSurge
from monitor.detect.windows import ExpectedSpike, SpikeCalendar
from monitor.parse.text import copy_key as content_key

DEDUP_HOURS = 72
# Firing surges mark their hours: capped in the baseline, zero in the slow burn's CUSUM.
SURGE_KINDS = frozenset({"volume_surge", "rising_storm"})


class BrandDetector(Protocol):
    kind: SignalKind

    def assess(self, history: BrandHistory, now: datetime) -> Decision: ...


@dataclass(frozen=True)
class DetectConfig:
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    volume: VolumeConfig = field(default_factory=VolumeConfig)
    rising: RisingConfig = field(default_factory=RisingConfig)
    slow_burn: SlowBurnConfig = field(default_factory=SlowBurnConfig)
    thread: ThreadConfig = field(default_factory=ThreadConfig)
    complaint_floor: float = COMPLAINT_FLOOR


def default_detectors(config: DetectConfig, spikes: SpikeCalendar) -> list[BrandDetector]:
    return [
        VolumeSurge(config.volume, config.baseline, spikes),
        RisingStorm(config.rising, config.baseline, spikes),
        SlowBurn(config.slow_burn, config.baseline),
        ThreadVelocity(config.thread),
    ]


class Detector:
    def __init__(
        self,
        config: DetectConfig = DetectConfig(),
        spikes: Iterable[ExpectedSpike] = (),
        live_since: datetime | None = None,
        detectors: Sequence[BrandDetector] | None = None,
    ) -> None:
        self.config = config
        self.spikes = SpikeCalendar(spikes)
        self.live_since = live_since
        self.detectors = (
            list(detectors) if detectors is not None else default_detectors(config, self.spikes)
        )
        self.brands: dict[str, BrandHistory] = {}
        self._seen: set[tuple[str, str]] = set()
        self._seen_order: deque[tuple[int, tuple[str, str]]] = deque()
        self._pruned_hour = 0
        self.shared = SharedPosts()

    def history(self, brand: str) -> BrandHistory:
        found = self.brands.get(brand)
        if found is None:
            found = BrandHistory(brand, self.config.complaint_floor, self.live_since)
            self.brands[brand] = found
        return found

    def observe(self, events: Iterable[PostEvent]) -> int:
        """File posts; returns how many were new. A post whose text another post about
        the brand already carried (a syndicated copy, a repost: another id and link, the same
        words up to case and spacing) is the same voice and is not counted again."""
        added = 0
        for event in events:
            keys = [(event.brand, event.post_id)]
            copy = content_key(event.text_snippet)
            if copy is not None:
                keys.append((event.brand, copy))
            if any(key in self._seen for key in keys):
                continue
            hour = hour_of(ts(event.at))
            for key in keys:
                self._seen.add(key)
                self._seen_order.append((hour, key))
            self.history(event.brand).add(event)
            self.shared.add(event, hour)
            added += 1
        return added

    def assess(self, now: datetime) -> list[Decision]:
        self._prune(now)
        decisions = []
        for history in self.brands.values():
            for detector in self.detectors:
                decision = detector.assess(history, now)
                decisions.append(decision)
                signal = decision.signal
                if signal is not None and decision.kind in SURGE_KINDS:
                    # marked even if a competitor's storm turns out to explain it: those
                    # hours are not our normal either
                    history.mark_surge(ts(signal.window_start), ts(signal.window_end))
                if signal is not None and signal.kind == "thread_velocity" and signal.thread_id:
                    history.viral_threads.add(signal.thread_id)
        storming = storming_brands(decisions, SURGE_KINDS)
        if storming and self.shared.posts:
            decisions = [self._attribute(d, storming, now) for d in decisions]
        return decisions

    def _attribute(self, decision: Decision, storming: dict[str, float], now: datetime) -> Decision:
        if decision.signal is None or decision.kind not in SURGE_KINDS:
            return decision
        limits: Limits = self.config.volume
        if decision.kind == "rising_storm":
            limits = self.config.rising
        history = self.brands[decision.brand]
        dispersion = baseline_for(history, now, self.config.baseline).dispersion
        return attribute(decision, history, self.shared, storming, limits, dispersion)

    def evaluate(self, now: datetime) -> list[Signal]:
        return [d.signal for d in self.assess(now) if d.signal is not None]

    def _prune(self, now: datetime) -> None:
        hour = hour_of(ts(now))
        if hour == self._pruned_hour:
            return
        self._pruned_hour = hour
        oldest = hour - DEDUP_HOURS
        while self._seen_order and self._seen_order[0][0] < oldest:
            self._seen.discard(self._seen_order.popleft()[1])
        self.shared.prune(oldest)
        for history in self.brands.values():
            history.prune(hour * HOUR_SECONDS)
