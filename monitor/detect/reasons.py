"""The named reasons the detect stage gives for what it decided, one enum per decision.

They are ``StrEnum`` so they read, compare, log and serialise exactly as the strings they
replace (``Quiet.WARMING_UP == "warming_up"``): the database, the JSON logs and
``stormwatch backtest`` output are unchanged, while a typo in the code is a mypy error
(docs/ARCHITECTURE.md, "Decisions carry named reasons").
"""

from __future__ import annotations

from enum import StrEnum


class SignalKind(StrEnum):
    """Which detector fired; also a :class:`Decision`'s reason when it fired."""

    VOLUME_SURGE = "volume_surge"
    RISING_STORM = "rising_storm"
    SLOW_BURN = "slow_burn"
    THREAD_VELOCITY = "thread_velocity"


class Quiet(StrEnum):
    """Why a detector did not fire for a brand at ``now``."""

    WARMING_UP = "warming_up"  # not enough history for a baseline yet
    NO_ACTIVE_THREAD = "no_active_thread"
    HISTORY_ONLY = "history_only"  # fired on data from before the cut-over: never pages
    BELOW_THRESHOLD = "below_threshold"
    BELOW_MIN_COUNT = "below_min_count"
    BELOW_MIN_RATIO = "below_min_ratio"
    BELOW_MIN_EXCESS = "below_min_excess"
    WITHIN_EXPECTED = "within_expected"
    EXPECTED_SPIKE_WINDOW = "expected_spike_window"  # a known daily/weekly peak
    NOT_RISING = "not_rising"
    BURN_SUBSIDED = "burn_subsided"
    NOT_NEGATIVE = "not_negative"
    COMPETITOR_STORM = "competitor_storm"  # what made it fire belongs to a storming competitor


class Action(StrEnum):
    """What the incident book did with an incident."""

    OPENED = "opened"
    REOPENED = "reopened"
    WENT_LIVE = "went_live"
    ESCALATED = "escalated"
    GROWN = "grown"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class BookReason(StrEnum):
    """Why the incident book took an :class:`Action`."""

    NEW_INCIDENT = "new_incident"
    LIVE_SIGNAL = "live_signal"  # the first signal after the cut-over
    SEVERITY_INCREASED = "severity_increased"
    SAME_FAMILY_OPEN = "same_family_open"
    WITHIN_COOLDOWN = "within_cooldown"
    QUIET_PERIOD = "quiet_period"
    SHORT_BURSTS = "short_bursts"  # a bursty brand's surge: watched, paged if it lasts
    LASTED = "lasted"  # a watched surge lasted ``confirm_after``: it pages now
    MANAGER = "manager"  # acknowledged by a person
    MANUAL = "manual"  # resolved by a person
