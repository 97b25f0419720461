"""The command line: every command on a real config, a real database and the sample web."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.demo.sampleweb import SampleWeb
from tests.support.worlds.crawl import config_for

runner = CliRunner()


@pytest.fixture(scope="module")
def web() -> Iterator[SampleWeb]:
    with SampleWeb() as site:
        yield site


def test_init_then_check_config(tmp_path: Path) -> None:
    made = runner.invoke(app, ["init", str(tmp_path)])
    assert made.exit_code == 0
    assert (tmp_path / "stormwatch.toml").exists()
    again = runner.invoke(app, ["init", str(tmp_path)])
    assert again.exit_code == 1
    assert "exists" in again.output
    checked = runner.invoke(app, ["check-config", "-c", str(tmp_path / "stormwatch.toml")])
    assert checked.exit_code == 0
    assert "OK" in checked.output


def test_init_writes_where_config_says_and_check_config_warns_about_an_empty_one(
    tmp_path: Path,
) -> None:
    target = tmp_path / "etc" / "sw.toml"
    made = runner.invoke(app, ["init", "--config", str(target)])
    assert made.exit_code == 0
    assert target.read_text().startswith("#")
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    checked = runner.invoke(app, ["check-config", "-c", str(empty)])
    assert checked.exit_code == 0
    assert "OK" in checked.output
    assert "warning: brands: none configured" in checked.output


def all_help(path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """``--help`` of the program and of every group and command under it."""
    shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}).output
    yield path, shown
    if "Commands:" in shown:
        for line in shown.split("Commands:")[1].splitlines():
            if line.startswith("  ") and not line.startswith("   "):
                yield from all_help((*path, line.split()[0]))


def test_help_reads_as_help_for_people() -> None:
    pages = dict(all_help())
    assert len(pages) > 40
    assert "complaint storms" in pages[()]
    for path, shown in pages.items():
        assert "`" not in shown, path
        assert "<bool>" not in shown, path
        assert "(Typer)" not in shown, path
        listed = shown.split("Commands:")[1] if "Commands:" in shown else ""
        assert not [line for line in listed.splitlines() if line.endswith("...")], path


def test_crawl_once_does_not_warn_about_the_web_secret_key(tmp_path: Path) -> None:
    config = tmp_path / "sw.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/sw.db"\n[log]\nformat = "text"\n')
    crawled = runner.invoke(app, ["crawl", "--once", "-c", str(config)])
    assert crawled.exit_code == 0, crawled.output
    assert "secret_key" not in crawled.output


def test_the_demo_keeps_its_own_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI prints data without markup; the demo's console styles its own lines."""

    def fake_demo(console: Any, workdir: Any = None, serve: bool = True) -> None:
        console.rule("[bold]Stormwatch demo")
        console.print("[dim]06:00[/] Nordtel:thread:20260304T1450Z")

    monkeypatch.setattr("monitor.demo.run_demo", fake_demo)
    shown = runner.invoke(app, ["demo", "--no-serve"]).output
    assert "[bold]" not in shown
    assert "[dim]" not in shown
    assert "Stormwatch demo" in shown
    assert "06:00 Nordtel:thread:20260304T1450Z" in shown


def test_check_config_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[network]\ndeadline = 0\n[[sources]]\nname = "x"\nkind = "gopher"\nurl = "ftp://x"\n'
    )
    result = runner.invoke(app, ["check-config", "-c", str(bad)])
    assert result.exit_code == 1
    assert "network.deadline" in result.output
    assert "sources.0.kind" in result.output
    assert "sources.0.url" in result.output
    assert "Traceback" not in result.output


def test_crawl_once_then_posts_and_sources(tmp_path: Path, web: SampleWeb) -> None:
    config = str(config_for(tmp_path, web))
    assert runner.invoke(app, ["db", "upgrade", "-c", config]).exit_code == 0
    first = runner.invoke(app, ["crawl", "--once", "--json", "-c", config])
    assert first.exit_code == 0, first.output
    rows = [json.loads(line) for line in first.output.splitlines() if line.startswith("{")]
    assert len(rows) == len(web.feeds())
    assert sum(r["new"] for r in rows) > 50

    listed = runner.invoke(app, ["posts", "list", "--json", "--limit", "1000", "-c", config])
    posts = [json.loads(line) for line in listed.output.splitlines()]
    assert len(posts) == sum(r["new"] for r in rows)
    assert len({p["id"] for p in posts}) == len(posts)
    comment = next(p for p in posts if p["kind"] == "comment" and p["brand_reason"] == "thread")
    assert comment["thread_id"]
    assert comment["brands"]
    assert {p["lang"] for p in posts} >= {"da", "sv", "nb", "en"}

    only = runner.invoke(app, ["posts", "list", "--json", "--brand", "Teleborg", "-c", config])
    assert all("Teleborg" in json.loads(line)["brands"] for line in only.output.splitlines())

    shown = runner.invoke(app, ["posts", "show", posts[0]["id"][:12], "--json", "-c", config])
    assert json.loads(shown.output)["id"] == posts[0]["id"]
    missing = runner.invoke(app, ["posts", "show", "nope", "-c", config])
    assert missing.exit_code == 1
    assert "no post" in missing.output

    one = runner.invoke(app, ["crawl", "--once", "--source", "forum", "--json", "-c", config])
    [forum] = [json.loads(line) for line in one.output.splitlines() if line.startswith("{")]
    assert forum["source"] == "forum"
    assert forum["new"] == 0
    assert forum["not_modified"] >= 1

    health = runner.invoke(app, ["sources", "list", "--json", "-c", config])
    states = [json.loads(line) for line in health.output.splitlines()]
    assert {s["health"] for s in states} <= {"ok", "degraded"}
    assert len(states) == len(web.feeds())

    unknown = runner.invoke(app, ["crawl", "--once", "--source", "nope", "-c", config])
    assert unknown.exit_code == 1
    assert "no source named 'nope'" in unknown.output


def test_run_daemon_crawls_and_stops_cleanly_on_sigterm(tmp_path: Path, web: SampleWeb) -> None:
    config = config_for(tmp_path, web)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    daemon = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor",
            "run",
            "-c",
            str(config),
            "--tick",
            "0.2",
            "--no-classify",
            "--no-web",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert daemon.stdout is not None
    seen = []
    for line in daemon.stdout:  # blocks until the daemon says something: no sleeping
        seen.append(line)
        if "tick" in line and "sources=" in line:
            break
    daemon.send_signal(signal.SIGTERM)
    rest, _ = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, "".join(seen) + rest
    assert "daemon stopped" in rest
    assert "Traceback" not in "".join(seen) + rest


def test_oncall_now_and_alerts_test_use_the_configured_routes(tmp_path: Path) -> None:
    pages = tmp_path / "pages.log"
    config = tmp_path / "sw.toml"
    config.write_text(
        f'[[channels]]\nname = "file"\nurl = "file://{pages}"\n'
        '[[oncall.people]]\nname = "mette"\nchannels = ["file"]\n'
        '[[oncall.schedules]]\nname = "duty"\nrotation = "daily"\nstart = "2026-01-05"\n'
        'members = ["mette"]\n'
        '[[oncall.policies]]\nname = "storms"\n'
        '[[oncall.policies.levels]]\nschedules = ["duty"]\n'
    )
    who = runner.invoke(app, ["oncall", "now", "--json", "-c", str(config)])
    assert who.exit_code == 0
    assert json.loads(who.output)["people"] == ["mette"]
    table = runner.invoke(app, ["oncall", "now", "-c", str(config)]).output.splitlines()
    row = dict(zip(table[0].split("\t"), table[1].split("\t"), strict=True))
    assert row["until"].endswith(" UTC")
    assert row["paged"] == "mette"
    sent = runner.invoke(app, ["alerts", "test", "-c", str(config)])
    assert sent.exit_code == 0
    assert "file" in sent.output
    assert "ok" in sent.output
    assert json.loads(pages.read_text())["step"] == "test"
    missing = runner.invoke(app, ["alerts", "test", "--channel", "nope", "-c", str(config)])
    assert missing.exit_code == 1
    assert "no channel named 'nope'" in missing.output


def test_alerts_test_never_prints_a_webhook_token(tmp_path: Path) -> None:
    config = tmp_path / "sw.toml"
    config.write_text(  # port 9 on loopback: nothing listens, the send fails
        '[[channels]]\nname = "query"\nurl = "json://127.0.0.1:9/hook?-token=Query-Secret-1"\n'
        '[[channels]]\nname = "header"\nurl = "json://127.0.0.1:9/h?+X-Token=Head-Secret-1"\n'
    )
    sent = runner.invoke(app, ["alerts", "test", "-c", str(config)])
    assert sent.exit_code == 1
    assert "-token=****" in sent.output
    assert "Query-Secret-1" not in sent.output
    assert "Head-Secret-1" not in sent.output


def test_a_policy_naming_an_unknown_channel_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "sw.toml"
    config.write_text(
        '[[oncall.people]]\nname = "mette"\nchannels = ["nowhere"]\n'
        '[[oncall.policies]]\nname = "p"\n[[oncall.policies.levels]]\npeople = ["ghost"]\n'
    )
    result = runner.invoke(app, ["check-config", "-c", str(config)])
    assert result.exit_code == 1
    assert "nowhere" in result.output
    assert "ghost" in result.output
