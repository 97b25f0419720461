"""Complaint-storm detection: pure functions of posts and `now` (no clock, no database).

Pipeline: :class:`PostEvent` -> :class:`Detector` (per-brand ring buffers; volume surge,
slow burn and thread velocity detectors) -> :class:`Signal` with a named reason ->
:class:`IncidentBook` (one incident per brand and family; open, grow, re-open, resolve) ->
:func:`explain` (ten-second text for a manager). :func:`replay` runs the same loop on a
simulated clock (``stormwatch backtest``); :mod:`monitor.detect.simulate` makes scenarios.
"""

from monitor.detect.baseline import Baseline, BaselineConfig, fit_baseline
from monitor.detect.engine import DetectConfig, Detector
from monitor.detect.events import Decision, PostEvent, Signal
from monitor.detect.explain import Explanation, explain
from monitor.detect.history import BrandHistory
from monitor.detect.incidents import (
    BookUpdate,
    Incident,
    IncidentBook,
    IncidentConfig,
    TimelineEntry,
)
from monitor.detect.replay import ReplayResult, events_from_jsonl, replay, replay_into
from monitor.detect.slowburn import SlowBurn, SlowBurnConfig
from monitor.detect.thread import ThreadConfig, ThreadVelocity
from monitor.detect.volume import VolumeConfig, VolumeSurge
from monitor.detect.windows import ExpectedSpike, SpikeCalendar

__all__ = [
    "Baseline",
    "BaselineConfig",
    "BookUpdate",
    "BrandHistory",
    "Decision",
    "DetectConfig",
    "Detector",
    "ExpectedSpike",
    "Explanation",
    "Incident",
    "IncidentBook",
    "IncidentConfig",
    "PostEvent",
    "ReplayResult",
    "Signal",
    "SlowBurn",
    "SlowBurnConfig",
    "SpikeCalendar",
    "ThreadConfig",
    "ThreadVelocity",
    "TimelineEntry",
    "VolumeConfig",
    "VolumeSurge",
    "events_from_jsonl",
    "explain",
    "fit_baseline",
    "replay",
    "replay_into",
]
