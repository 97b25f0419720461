"""The NAB scorer on tiny hand-built files whose scores are computed by hand.

NAB's scaled sigmoid 2 / (1 + e^(5y)) - 1 equals -tanh(2.5 y), so: a window's first row
earns exactly A_tp, its middle tanh(1.25) / tanh(2.5) = 0.8598 A_tp; a false positive 0.2
window-widths after a window costs A_fp tanh(0.5) = 0.4621 A_fp, one width after it
A_fp tanh(2.5) = 0.9866 A_fp, and before any window the full A_fp.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.detect.nab import (
    REWARD_LOW_FP,
    STANDARD,
    FileScore,
    Series,
    load_series,
    load_windows,
    normalised,
    probation_rows,
    scaled_sigmoid,
    score_file,
)
from monitor.errors import StormwatchError

ROWS = 100  # probation: the first 15 rows
WINDOW = [(40, 50)]  # 11 rows


def test_the_scaled_sigmoid_at_its_landmarks() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(math.tanh(2.5))
    assert scaled_sigmoid(0.0) == pytest.approx(0.0)
    assert scaled_sigmoid(1.0) == pytest.approx(-math.tanh(2.5))
    assert scaled_sigmoid(3.0) == -1.0


def test_probation_is_15_percent_capped_at_750_rows() -> None:
    assert probation_rows(100) == 15
    assert probation_rows(1000) == 150
    assert probation_rows(15_900) == 750


def test_a_detection_at_the_window_start_is_perfect() -> None:
    score = score_file(ROWS, WINDOW, [40])
    assert score.raw == pytest.approx(1.0)
    assert (score.windows, score.detected, score.false_positives) == (1, 1, 0)
    assert normalised([score]) == pytest.approx(100.0)


def test_a_later_detection_earns_less_and_only_the_earliest_counts() -> None:
    middle = score_file(ROWS, [(40, 49)], [45])  # y = -(49 - 45 + 1) / 10 = -0.5
    assert middle.raw == pytest.approx(math.tanh(1.25) / math.tanh(2.5))  # 0.8598
    both = score_file(ROWS, [(40, 49)], [47, 45, 42])
    assert both.raw == pytest.approx(math.tanh(2.5 * 0.8) / math.tanh(2.5))  # row 42: y = -0.8
    assert both.detected == 1
    assert both.false_positives == 0


def test_a_missed_window_costs_a_fn_and_scores_zero_normalised() -> None:
    score = score_file(ROWS, WINDOW, [])
    assert score.raw == pytest.approx(-1.0)
    assert normalised([score]) == pytest.approx(0.0)


def test_false_positives_are_weighted_by_their_distance_after_the_previous_window() -> None:
    before_any = score_file(ROWS, WINDOW, [40, 20])
    assert before_any.raw == pytest.approx(1.0 - 0.11)
    just_after = score_file(ROWS, WINDOW, [40, 52])  # (52 - 50) / (11 - 1) = 0.2
    assert just_after.raw == pytest.approx(1.0 - 0.11 * math.tanh(0.5))
    one_width = score_file(ROWS, WINDOW, [40, 60])  # y = 1
    assert one_width.raw == pytest.approx(1.0 - 0.11 * math.tanh(2.5))
    low_fp = score_file(ROWS, WINDOW, [40, 20], REWARD_LOW_FP)
    assert low_fp.raw == pytest.approx(1.0 - 0.22)
    assert one_width.false_positives == 1


def test_detections_and_windows_inside_the_probation_do_not_count() -> None:
    score = score_file(ROWS, [(2, 8), (40, 50)], [3, 10, 40])
    assert (score.windows, score.raw) == (1, pytest.approx(1.0))
    # the probationary window still is the "previous window" for a false positive
    after = score_file(ROWS, [(2, 8), (40, 50)], [40, 20])  # (20 - 8) / 6 = 2
    assert after.raw == pytest.approx(1.0 + 0.11 * scaled_sigmoid(2.0))


def test_normalisation_sums_the_files_before_scaling() -> None:
    perfect = score_file(ROWS, WINDOW, [40])
    nothing = score_file(ROWS, [(30, 40), (60, 70)], [])
    # raw 1 - 2 = -1 over 3 windows: null -3, perfect 3 -> 100 x 2 / 6
    assert normalised([perfect, nothing]) == pytest.approx(100 * 2 / 6)
    assert normalised([FileScore(0.0, 0, 0, 0, 0.0, 0.0)], STANDARD) == 0.0


def _series(rows: int = 5) -> Series:
    start = datetime(2015, 3, 1, 0, 2, 53, tzinfo=UTC)
    step = timedelta(minutes=5)
    return Series("x.csv", [start + n * step for n in range(rows)], [1.0] * rows)


def test_windows_map_to_rows_and_a_detection_is_charged_to_the_row_in_progress() -> None:
    series = _series()
    t = series.timestamps
    assert series.window_rows([(t[1], t[3])]) == [(1, 3)]
    assert series.row_of(t[2] + timedelta(minutes=5)) == 2  # row 2 just complete
    assert series.row_of(t[2] + timedelta(minutes=5, seconds=1)) == 3  # row 3 partly seen
    assert series.row_of(t[4] + timedelta(hours=1)) == 4


def test_nab_files_load_and_bad_lines_are_named(tmp_path: Path) -> None:
    good = tmp_path / "Twitter_volume_X.csv"
    good.write_text("timestamp,value\n2015-02-26 21:42:53,104\n2015-02-26 21:47:53,100\n")
    series = load_series(good)
    assert series.values == [104.0, 100.0]
    assert series.timestamps[0] == datetime(2015, 2, 26, 21, 42, 53, tzinfo=UTC)
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,value\n2015-02-26 21:42:53,many\n")
    with pytest.raises(StormwatchError, match=r"bad\.csv: line 2: .many. is not a number"):
        load_series(bad)
    with pytest.raises(StormwatchError, match="cannot read"):
        load_series(tmp_path / "missing.csv")
    labels = tmp_path / "windows.json"
    labels.write_text(
        '{"realTweets/X.csv": [["2015-03-03 04:37:53.000000", "2015-03-04 13:37:53"]]}'
    )
    assert load_windows(labels)["X.csv"][0][0] == datetime(2015, 3, 3, 4, 37, 53, tzinfo=UTC)
    labels.write_text("[1")
    with pytest.raises(StormwatchError, match="not JSON"):
        load_windows(labels)
