"""Score detections by the rules of the Numenta Anomaly Benchmark (NAB).

Written from NAB's published definition (Lavin and Ahmad, "Evaluating Real-time Anomaly
Detection Algorithms - the Numenta Anomaly Benchmark", 2015, and the benchmark's
documentation), not from its code. A data file is a series of rows at fixed timestamps with
labelled anomaly windows ``[start, end]``; a detector reports detections as row indexes.

- Probation: the first ``min(floor(0.15 n), 0.15 x 5000)`` rows are not scored (a detector
  is learning there); windows that lie wholly inside it do not count.
- Inside a window of ``width`` rows ending at row ``right``, a detection at row ``i`` sits at
  ``y = -(right - i + 1) / width`` (-1 at the window's first row, near 0 at its last) and
  earns ``A_tp x sigma(y) / sigma(-1)``, with ``sigma(y) = 2 / (1 + e^(5y)) - 1``: the earlier,
  the more. Only the best (the earliest) detection of a window counts.
- A window without a detection costs ``A_fn``.
- A detection outside every window costs ``A_fp x sigma(y)`` (negative) with
  ``y = (i - prev_right) / (prev_width - 1)`` past the previous window's last row: just
  after a window it costs little, far after it the full ``A_fp``; before any window, and
  from ``y >= 3``, the full ``A_fp``.
- A corpus is normalised over all its files together:
  ``100 x (S - S_null) / (S_perfect - S_null)`` with ``S_null = -A_fn x windows`` (nothing
  detected) and ``S_perfect = A_tp x windows`` (every window at its first row).

Profiles: ``standard`` (A_tp 1, A_fp 0.11, A_fn 1) and ``reward_low_FP_rate`` (A_fp 0.22).
"""

from __future__ import annotations

import bisect
import csv
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.errors import StormwatchError

PROBATION_SHARE = 0.15
PROBATION_CAP_ROWS = 5000  # NAB caps the probation at 15% of 5,000 rows
WELL_PAST = 3.0  # positions at least this far past a window cost the full A_fp


@dataclass(frozen=True)
class Profile:
    name: str
    tp: float
    fp: float
    fn: float


STANDARD = Profile("standard", 1.0, 0.11, 1.0)
REWARD_LOW_FP = Profile("reward_low_FP_rate", 1.0, 0.22, 1.0)
PROFILES = (STANDARD, REWARD_LOW_FP)


@dataclass(frozen=True)
class FileScore:
    """One file's raw score under one profile, with its parts."""

    raw: float
    windows: int  # windows that count (not wholly inside the probation)
    detected: int  # of those, windows with a detection
    false_positives: int  # detections outside every window (after the probation)
    tp_score: float
    fp_score: float


def scaled_sigmoid(position: float) -> float:
    """NAB's 2 / (1 + e^(5 y)) - 1: ~0.987 at -1, 0 at 0, ~-0.987 at 1, -1 from 3 on."""
    if position >= WELL_PAST:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probation_rows(rows: int) -> int:
    return int(min(math.floor(PROBATION_SHARE * rows), PROBATION_SHARE * PROBATION_CAP_ROWS))


def score_file(
    rows: int,
    windows: Sequence[tuple[int, int]],
    detections: Iterable[int],
    profile: Profile = STANDARD,
) -> FileScore:
    """Score row-index `detections` against inclusive row `windows` (sorted, disjoint)."""
    probation = probation_rows(rows)
    counted = [w for w in windows if w[1] >= probation]
    best: dict[int, float] = {}
    fp_score, false_positives = 0.0, 0
    for row in sorted(set(d for d in detections if probation <= d < rows)):
        inside = _window_of(counted, row)
        if inside is not None:
            lo, hi = counted[inside]
            earned = _tp_score(row, lo, hi, profile)
            best[inside] = max(best.get(inside, -math.inf), earned)
        else:
            fp_score += profile.fp * scaled_sigmoid(_past_window(windows, row))
            false_positives += 1
    tp_score = sum(best.values())
    missed = len(counted) - len(best)
    raw = tp_score + fp_score - profile.fn * missed
    return FileScore(raw, len(counted), len(best), false_positives, tp_score, fp_score)


def _window_of(windows: Sequence[tuple[int, int]], row: int) -> int | None:
    for index, (lo, hi) in enumerate(windows):
        if lo <= row <= hi:
            return index
    return None


def _tp_score(row: int, lo: int, hi: int, profile: Profile) -> float:
    width = hi - lo + 1
    return profile.tp * scaled_sigmoid(-(hi - row + 1) / width) / scaled_sigmoid(-1.0)


def _past_window(windows: Sequence[tuple[int, int]], row: int) -> float:
    """How far past the last window before `row` it is, in that window's widths."""
    before = [(lo, hi) for lo, hi in windows if hi < row]
    if not before:
        return WELL_PAST
    lo, hi = before[-1]
    return (row - hi) / max(hi - lo, 1)


def normalised(scores: Iterable[FileScore], profile: Profile = STANDARD) -> float:
    """NAB's normalised score of a corpus: 0 = detecting nothing, 100 = perfect."""
    scores = list(scores)
    windows = sum(s.windows for s in scores)
    null, perfect = -profile.fn * windows, profile.tp * windows
    if perfect == null:
        return 0.0
    return 100.0 * (sum(s.raw for s in scores) - null) / (perfect - null)


# -- NAB files ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Series:
    """One NAB data file: timestamps (UTC) and values, rows ``step`` apart."""

    name: str
    timestamps: list[datetime]
    values: list[float]
    step: timedelta = timedelta(minutes=5)

    def window_rows(self, windows: Iterable[tuple[datetime, datetime]]) -> list[tuple[int, int]]:
        """Inclusive row ranges of time windows (the rows from start through end)."""
        out = []
        for start, end in windows:
            lo = bisect.bisect_left(self.timestamps, start)
            hi = bisect.bisect_right(self.timestamps, end) - 1
            if lo <= hi:
                out.append((lo, hi))
        return out

    def row_of(self, at: datetime) -> int:
        """The row a detection made at `at` is reported on: the first row not yet over at `at`
        (a detection may use the row still in progress, so it is charged to that row)."""
        return min(bisect.bisect_left(self.timestamps, at - self.step), len(self.timestamps) - 1)


def load_series(path: Path) -> Series:
    """A NAB CSV (``timestamp,value``); one clear error naming the file and line."""
    timestamps: list[datetime] = []
    values: list[float] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.reader(handle), 1):
                if number == 1:
                    continue
                timestamps.append(_when(row[0], f"{path}: line {number}"))
                values.append(_number(row[1] if len(row) > 1 else "", f"{path}: line {number}"))
    except OSError as exc:
        raise StormwatchError(f"{path}: cannot read: {exc.strerror}") from None
    return Series(path.name, timestamps, values)


def load_windows(path: Path) -> dict[str, list[tuple[datetime, datetime]]]:
    """NAB's labelled windows per file name (``{"file.csv": [[start, end], ...]}``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StormwatchError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError:
        raise StormwatchError(f"{path}: not JSON") from None
    if not isinstance(data, dict):
        raise StormwatchError(f"{path}: expected an object of file name -> windows")
    return {
        name.rsplit("/", 1)[-1]: [
            (_when(w[0], f"{path}: {name}"), _when(w[1], f"{path}: {name}")) for w in windows
        ]
        for name, windows in data.items()
    }


def _when(text: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)
    except ValueError:
        raise StormwatchError(f"{where}: {text!r} is not a timestamp") from None


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise StormwatchError(f"{where}: {text!r} is not a number") from None
