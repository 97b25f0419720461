"""Every misbehaving route of the simulated web, crawled for real: no crash, no hang beyond
the deadline, a readable last_error (or warning) on the source, nothing stored twice, and
nothing ever sent to a host outside the allow-list."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from monitor.cli import app
from monitor.demo.sampleweb import SampleWeb
from monitor.storage import repo
from monitor.storage.db import session_scope
from tests.support.worlds.crawl import crawl, make_settings

# route -> (error kind, or None when the source stays up with a warning / posts)
ROUTES: dict[str, str | None] = {
    "malformed.xml": None,
    "entity-bomb.xml": None,
    "xxe.xml": None,
    "latin1.xml": None,
    "latin1-mislabelled.xml": None,
    "wrong-length": None,
    "redirect-ok": None,
    "empty.xml": "parse",
    "html-not-feed.xml": "parse",
    "garbage.xml": "parse",
    "redirect-loop": "redirect",
    "redirect-outside": "refused",
    "huge.xml": "too_large",
    "gzip-bomb.xml": "too_large",
    "slow-drip.xml": "timeout",
    "hang": "timeout",
    "500": "http_status",
    "drop": "protocol",
}
RATE_LIMITED = ["503", "429", "429-date"]
DEADLINE = 1.0


@pytest.fixture(scope="module")
def outside() -> Iterator[SampleWeb]:
    """A server on 127.0.0.2: outside the allow-list. It must never see a connection."""
    with SampleWeb(host="127.0.0.2") as site:
        yield site


def write_config(path: Path, db: Path, web: SampleWeb, sources: list[dict[str, str]]) -> Path:
    lines = [
        f'[database]\nurl = "sqlite:///{db}"\n',
        '[network]\nallowed_hosts = ["127.0.0.1"]\nmin_host_interval = 0.0\n',
        '[[brands]]\nname = "Nordtel"\n',
    ]
    lines += [
        f'[[sources]]\nname = "{s["name"]}"\nkind = "feed"\nurl = "{s["url"]}"\n' for s in sources
    ]
    path.write_text("\n".join(lines))
    return path


def test_every_bad_route_is_contained_and_reported(
    sqlite_engine: Engine, tmp_path: Path, outside: SampleWeb
) -> None:
    with SampleWeb() as web:
        port = outside.base_url.rsplit(":", 1)[1]
        sources = [
            {
                "name": r,
                "kind": "feed",
                "url": f"{web.base_url}/bad/{r}"
                + (f"?port={port}" if r == "redirect-outside" else ""),
            }
            for r in ROUTES
        ]
        settings = make_settings(
            web, tmp_path / "x.db", sources, deadline=DEADLINE, max_bytes=2**21
        )
        started = time.monotonic()
        reports = {r.source: r for r in crawl(settings, sqlite_engine)}
        elapsed = time.monotonic() - started
        again = {r.source: r for r in crawl(settings, sqlite_engine)}

    for route, kind in ROUTES.items():
        assert reports[route].error_kind == kind, (route, reports[route].error)
        if kind:
            assert len(reports[route].error or "") < 400
            assert "\n" not in (reports[route].error or "")
    assert outside.requests == [], "a request reached the host outside the allow-list"
    # two timeouts run one after the other (one request per host); nothing else is slow
    assert elapsed < 2 * DEADLINE + 8
    assert sum(len(r.new) for r in again.values()) == 0, "the same posts are never stored twice"

    with session_scope(sqlite_engine) as s:
        texts = [p.text + (p.title or "") for p in repo.list_posts(s, limit=1000)]
    assert any("Ærø" in t for t in texts), "ISO-8859-1 decoded correctly"
    assert not any("root:" in t or "lol" in t for t in texts), "no entity was expanded"

    config = write_config(tmp_path / "sw.toml", Path(str(sqlite_engine.url.database)), web, sources)
    listed = CliRunner().invoke(app, ["sources", "list", "--json", "-c", str(config)])
    assert listed.exit_code == 0, listed.output
    rows = {row["name"]: row for row in map(json.loads, listed.output.splitlines())}
    for route, kind in ROUTES.items():
        row = rows[route]
        if kind:
            assert row["last_error_kind"] == kind
            assert row["last_error"]
            assert row["health"] == "failing"
            assert row["consecutive_failures"] == 2
        elif route in ("malformed.xml", "entity-bomb.xml", "xxe.xml", "wrong-length"):
            assert row["health"] == "degraded"
            assert "not well-formed" in row["last_warning"]
        else:
            assert row["health"] in ("ok", "degraded")
            assert row["last_error"] is None
    table = CliRunner().invoke(app, ["sources", "list", "-c", str(config)])
    assert "timeout" in table.output
    assert "refused" in table.output


def test_rate_limits_back_off_the_whole_host_and_persist(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    with SampleWeb() as web:
        sources = [
            {"name": r, "kind": "feed", "url": f"{web.base_url}/bad/{r}"} for r in RATE_LIMITED
        ]
        sources.append({"name": "news", "kind": "feed", "url": f"{web.base_url}/news/rss.xml"})
        settings = make_settings(web, tmp_path / "x.db", sources)
        first = {r.source: r for r in crawl(settings, sqlite_engine)}
        web.clear_requests()
        second = {r.source: r for r in crawl(settings, sqlite_engine)}
        assert web.requests == [], "a host that said 429/503 is left alone until its backoff ends"

    assert {first[r].error_kind for r in RATE_LIMITED} == {"rate_limited"}
    assert all(r.skipped and r.skipped.startswith("host backing off") for r in second.values())
    with session_scope(sqlite_engine) as s:
        host = repo.host_state(s, web.base_url.removeprefix("http://"))
        due = {x.name: x.next_due_at for x in repo.list_sources(s)}
    assert host is not None
    assert host.backoff_until is not None
    from tests.support.fixtures.clock import T0

    assert (host.backoff_until - T0).total_seconds() >= 120, "never sooner than Retry-After"
    assert due["503"] is not None
    assert (due["503"] - T0).total_seconds() >= 120


def test_robots_txt_is_honoured_unless_the_source_opts_out(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    with SampleWeb() as web:
        url = f"{web.base_url}/private/feed.xml"
        sources = [
            {"name": "polite", "kind": "feed", "url": url},
            {"name": "opted-out", "kind": "feed", "url": url, "respect_robots": False},
        ]
        settings = make_settings(web, tmp_path / "x.db", sources)  # type: ignore[arg-type]
        reports = {r.source: r for r in crawl(settings, sqlite_engine)}
        fetched = [r.path for r in web.requests if r.path.startswith("/private/")]
    assert reports["polite"].error_kind == "robots"
    assert reports["opted-out"].error is None
    assert fetched == ["/private/feed.xml"]


def test_direct_source_outside_the_allow_list_is_refused_without_a_request(
    sqlite_engine: Engine, tmp_path: Path, outside: SampleWeb
) -> None:
    with SampleWeb() as web:
        sources = [{"name": "outside", "kind": "feed", "url": f"{outside.base_url}/news/rss.xml"}]
        settings = make_settings(web, tmp_path / "x.db", sources)
        [report] = crawl(settings, sqlite_engine)
    assert report.error_kind == "refused"
    assert "allowed_hosts" in (report.error or "")
    assert outside.requests == []


def test_failing_source_backs_off_and_turns_unhealthy(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    from datetime import timedelta

    from tests.support.fixtures.clock import T0

    with SampleWeb() as web:
        settings = make_settings(
            web,
            tmp_path / "x.db",
            [{"name": "dead", "kind": "feed", "url": f"{web.base_url}/bad/500"}],
        )
        gaps = []
        now = T0
        for _ in range(4):
            crawl(settings, sqlite_engine, now)
            with session_scope(sqlite_engine) as s:
                source = repo.source_by_name(s, "dead")
                assert source is not None
                assert source.next_due_at is not None
                gaps.append((source.next_due_at - now).total_seconds())
                failures = source.consecutive_failures
            now = source.next_due_at + timedelta(seconds=1)
    assert failures == 4
    from monitor.queue.health import source_health

    assert source_health(source, settings.crawl.unhealthy_after) == "unhealthy"
    assert gaps == sorted(gaps), "exponential backoff"
    assert gaps[-1] > 3 * gaps[0], "exponential backoff"
    assert gaps[-1] <= 6 * 3600 * 1.01, "capped"
