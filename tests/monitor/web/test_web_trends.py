"""The trends page: charts as inline SVG with their numbers as tables and CSV, incidents on
the same time axis, the service figures; refused input says why; source names from the
configuration and crawled pages stay text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.web.trend_chart import Point, bars_chart, series_chart
from tests.support.worlds.web import (
    HOSTILE_SOURCE,
    INCIDENT,
    World,
    assert_inert,
    build_template,
    open_world,
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("web"))


@pytest.fixture
def world(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from open_world(template, tmp_path, monkeypatch)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_trends_page_shows_each_chart_with_its_numbers(world: World) -> None:
    client = world.login("vic")
    page = client.get("/trends", params={"brand": "Nordtel", "days": 7})
    assert page.status_code == 200
    html = page.text
    assert html.count('<svg class="chart"') == 4  # per day, per hour, by source, by language
    assert 'aria-label="Nordtel: mentions and complaints per day"' in html
    assert "stroke-dasharray" in html  # the seeded incident on the time axis
    assert f"/incidents/{INCIDENT.replace(':', '%3A')}" in html
    for by in ("day", "hour", "source", "lang"):
        assert f"/trends.csv?brand=Nordtel&amp;days=7&amp;by={by}" in html
    assert "Time to first answer (median)" in html
    assert_inert(html)
    assert HOSTILE_SOURCE not in html  # (it has no posts in these days; the layout check above)

    days = rows(client.get("/trends.csv", params={"brand": "Nordtel", "days": 7}).text)
    sources = rows(client.get("/trends.csv", params={"days": 7, "by": "source"}).text)
    hours = rows(client.get("/trends.csv", params={"days": 7, "by": "hour"}).text)
    assert len(days) in (7, 8)  # local days touched by 7 x 24 hours
    assert len(hours) == 7 * 24 + 1  # the start floored to its hour, and the hour now
    total = sum(int(r["mentions"]) for r in days)
    assert (
        total == sum(int(r["mentions"]) for r in sources) == sum(int(r["mentions"]) for r in hours)
    )
    assert total > 0
    assert {r["source"] for r in sources} == {"blog"}  # the seeded posts' source


def test_refused_input_says_why(world: World) -> None:
    client = world.login("vic")
    unknown = client.get("/trends", params={"brand": "Nobody"})
    assert unknown.status_code == 400
    assert "unknown brand &#39;Nobody&#39; (one of: Nordtel)" in unknown.text
    assert client.get("/trends", params={"days": 0}).status_code in (400, 422)
    assert client.get("/trends.csv", params={"by": "week"}).status_code in (400, 422)
    assert world.client().get("/trends").status_code in (303, 401)  # a session first


def test_chart_labels_are_escaped() -> None:
    bars = str(bars_chart([(HOSTILE_SOURCE, 3, 1)], f"by source {HOSTILE_SOURCE}"))
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    line = str(series_chart([Point(at, 2, 1)], [(at, HOSTILE_SOURCE)], UTC, HOSTILE_SOURCE))
    for svg in (bars, line):
        assert "<script" not in svg
        assert "&lt;script&gt;" in svg
        assert_inert(svg)
