"""Unit tests of the web package's pure helpers: redirect targets, the link gate, the
passage split, the since grammar, durations, times and the SVG chart."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from monitor.clock import ZoneError, known_zones, parse_since, parse_zone
from monitor.queue.incidents import SeriesPoint
from monitor.web.chart import volume_chart
from monitor.web.format import (
    chance,
    display_zone,
    duration,
    heading,
    language,
    passage,
    times_usual,
    viewer_zone,
    when,
)
from monitor.web.security import http_url, safe_next
from tests.support.fixtures.clock import T0
from tests.support.worlds.web import NOW


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "",
        "/%0a/evil" + "x" * 3000,
    ],
)
def test_safe_next_refuses_everything_but_local_paths(target: str) -> None:
    assert safe_next(target) == "/incidents"


def test_safe_next_keeps_local_paths_and_queries() -> None:
    assert safe_next("/queue?brand=Nordtel&q=net") == "/queue?brand=Nordtel&q=net"
    assert safe_next("/incidents/a%3Ab/ack?token=x.y") == "/incidents/a%3Ab/ack?token=x.y"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://forum.example/t/1", "https://forum.example/t/1"),
        ("http://x.example", "http://x.example"),
        ("javascript:alert(1)", None),
        (" javascript:alert(1)", None),
        ("java\nscript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("//evil.example", None),
        ("https:///nohost", None),
        ("ftp://x.example", None),
        (None, None),
    ],
)
def test_http_url_lets_only_plain_web_links_through(url: str | None, expected: str | None) -> None:
    assert http_url(url) == expected


def test_passage_split_marks_the_span_and_ignores_bad_offsets() -> None:
    split = passage("abc<b>def</b>ghi", 3, 13)
    assert (split.before, split.middle, split.after) == ("abc", "<b>def</b>", "ghi")
    for start, end in [(0, 0), (5, 2), (-1, 3), (0, 99), (None, None)]:
        assert passage("abc", start, end).middle == ""


def test_since_accepts_spans_and_dates() -> None:
    assert parse_since("24h", NOW) == NOW - timedelta(hours=24)
    assert parse_since("7d", NOW) == NOW - timedelta(days=7)
    assert parse_since("2026-11-01", NOW) == datetime(2026, 11, 1, tzinfo=NOW.tzinfo)
    assert parse_since("", NOW) is None


def test_chart_is_numbers_and_escaped_text_only() -> None:
    points = [SeriesPoint(T0 + timedelta(hours=h), float(h * h), 2.0, 6.0) for h in range(6)]
    svg = str(volume_chart(points, T0 + timedelta(hours=2)))
    assert svg.startswith("<svg")
    assert svg.count("<polyline") == 2
    assert "<polygon" in svg
    assert "onset" in svg
    assert "Peak 25.0 complaints per hour" in svg
    assert str(volume_chart([])) == ""


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (-5, "0 min"), (59, "0 min"), (420, "7 min"), (3600, "1 h"),
     (16_560, "4 h 36 min"), (16_536, "4 h 35 min"), (86_400, "1 d"), (266_400, "3 d 2 h")],
)  # fmt: skip
def test_durations_read_as_hours_and_minutes(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_times_show_in_the_schedule_zone_else_utc() -> None:
    copenhagen = display_zone(["Europe/Copenhagen", "Europe/Oslo"])
    assert when(T0, copenhagen) == "2026-11-02 10:00 CET"
    assert when(T0 - timedelta(days=200), copenhagen) == "2026-04-16 11:00 CEST"
    assert when(T0, display_zone([])) == "2026-11-02 09:00 UTC"
    assert when(None, copenhagen) == "—"


def test_chart_labels_its_axis_in_the_viewers_zone() -> None:
    points = [SeriesPoint(T0 + timedelta(hours=h), 1.0, 1.0, 2.0) for h in range(3)]
    svg = str(volume_chart(points, zone=display_zone(["Europe/Copenhagen"])))
    assert ">02 Nov 10:00</text>" in svg
    assert ">12:00 CET</text>" in svg
    assert "UTC" not in svg


def test_a_post_without_a_title_is_headed_by_its_thread_or_first_words() -> None:
    assert heading(" Nordtel nede ", ["Andet"], "x") == "Nordtel nede"
    assert heading(None, [None, "Nordtel nede igen"], "Samme her") == "Re: Nordtel nede igen"
    words = "Samme her, Nordtel er nede i hele Aarhus siden i morges og ingen svarer"
    assert heading("", [], words) == "Samme her, Nordtel er nede i hele Aarhus siden i …"
    assert heading(None, [], "Kort svar.") == "Kort svar."
    assert heading(None, [], " ") == "(empty post)"


def test_chart_draws_the_running_hour_as_partial_with_labelled_ticks_and_values() -> None:
    points = [SeriesPoint(T0 + timedelta(hours=h), 10.0, 2.0, 4.0) for h in range(29)]
    zone = display_zone(["Europe/Copenhagen"])
    running = str(volume_chart(points, zone=zone, now=T0 + timedelta(hours=28, minutes=20)))
    assert running.count('class="observed partial"') == 1
    assert ">so far</text>" in running
    times = re.findall(r'y="232.0" text-anchor="\w+">([^<]+)</text>', running)
    assert times == ["02 Nov 10:00", "17:00", "03 Nov 00:00", "07:00", "14:00 CET"]
    assert running.count("<circle") == 29
    assert "<title>02 Nov 10:00: 10.0 complaints" in running
    done = str(volume_chart(points, zone=zone, now=T0 + timedelta(hours=29)))
    assert "partial" not in done
    assert "so far" not in done


@pytest.mark.parametrize(
    ("ratio", "expected", "words"),
    [(422.06, 0.1, "about 420 times the usual"), (14.1, 0.93, "about 14 times the usual"),
     (6.0, 2.0, "about 6 times the usual"), (2.44, 1.0, "about 2.4 times the usual"),
     (1.4, 5.0, "40% more than usual"), (1.0, 5.0, "about the usual"),
     (0.5, 5.0, "less than usual"), (1234.5, 0.01, "about 1,200 times the usual"),
     (30.0, 0.0, "far above the usual (normally none)"), (None, None, "—")],
)  # fmt: skip
def test_how_far_above_normal_reads_as_words(
    ratio: float | None, expected: float | None, words: str
) -> None:
    assert times_usual(ratio, expected) == words


@pytest.mark.parametrize(
    ("p_value", "score", "words"),
    [(1.5e-156, None, "less than a one-in-a-billion chance on an ordinary day"),
     (0.0, None, "less than a one-in-a-billion chance on an ordinary day"),
     (2.4e-07, None, "about a 1-in-4,200,000 chance on an ordinary day"),
     (0.001, None, "about a 1-in-1,000 chance on an ordinary day"),
     (0.2, None, "could be chance on an ordinary day"),
     (None, 12.3, "a steady rise, not a spike (CUSUM score 12.3)")],
)  # fmt: skip
def test_how_unlikely_reads_as_words(
    p_value: float | None, score: float | None, words: str
) -> None:
    assert chance(p_value, score) == words


def test_languages_read_as_names() -> None:
    assert [language(c) for c in ("da", "nb", "sv", "en", "fi")] == [
        "Danish", "Norwegian", "Swedish", "English", "Finnish",
    ]  # fmt: skip
    assert language("xx") == "xx"
    assert language("?") == language(None) == "unknown language"


def test_the_viewers_zone_is_theirs_else_the_schedules_else_the_browsers_else_utc() -> None:
    copenhagen, oslo = ["Europe/Copenhagen"], "Europe/Oslo"
    assert viewer_zone("Asia/Tokyo", copenhagen, oslo).name == "Asia/Tokyo"
    assert viewer_zone("Asia/Tokyo", copenhagen, oslo).origin == "chosen"
    default = viewer_zone(None, copenhagen, oslo)
    assert (default.name, default.origin) == ("Europe/Copenhagen", "schedule")
    assert viewer_zone(None, [], oslo).origin == "browser"
    assert when(T0, viewer_zone(None, [], oslo).zone) == "2026-11-02 10:00 CET"
    fallen = viewer_zone("Gone/Zone", [], "../../etc/passwd")  # stale setting, forged cookie
    assert (fallen.name, fallen.origin) == ("UTC", "utc")
    assert when(T0, fallen.zone) == "2026-11-02 09:00 UTC"


def test_a_zone_name_must_be_a_known_iana_zone() -> None:
    assert parse_zone(" Europe/Copenhagen ").key == "Europe/Copenhagen"
    assert "Europe/Copenhagen" in known_zones()
    assert known_zones() == sorted(known_zones())
    for bad in (
        "",
        "Mars/Olympus",
        "posixrules",
        "/etc/passwd",
        "Europe/../Europe/Oslo",
        "x" * 500,
    ):
        with pytest.raises(ZoneError, match="unknown time zone") as refused:
            parse_zone(bad)
        assert len(str(refused.value)) < 140, "one line, even for a long name"
