"""Settings: every problem listed with its key path; secrets masked; env overrides."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.logs import JsonFormatter, configure
from monitor.settings import Secret, load_settings, mask_url, parse_settings, warnings_of
from tests.support.paths import REPO

EXAMPLE = REPO / "config" / "stormwatch.example.toml"


def test_example_config_is_valid_and_documents_every_key() -> None:
    settings = load_settings(EXAMPLE, environ={})
    text = EXAMPLE.read_text()
    for section in (
        "database",
        "network",
        "crawl",
        "log",
        "web",
        "runner",
        "push",
        "classifier",
        "outbox",
        "oncall",
    ):
        model = getattr(settings, section)
        for key in type(model).model_fields:
            documented = (
                f"\n{key} = " in text or f"\n# {key} = " in text or f"[{section}.{key}]" in text
            )
            assert documented, f"[{section}] {key} is not documented in the example"
    assert settings.brands[0].name == "Nordtel"


def test_every_problem_is_reported_with_its_key_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        """
[database]
url = "mysql://nope"
[network]
deadline = -1
colour = "blue"
[crawl]
languages = ["da", "xx"]
[[brands]]
name = "Nordtel"
[[sources]]
name = "a"
kind = "ftp"
url = "gopher://x"
[[sources]]
name = "a"
kind = "feed"
url = "https://example.org/feed"
brand = "Nobody"
"""
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    problems = "\n".join(info.value.problems)
    for expected in (
        "database.url: must start with sqlite://",
        "network.deadline:",
        "network.colour: unknown key",
        "crawl.languages: unsupported ['xx']",
        "sources.0.kind:",
        "sources.0.url: must be an http:// or https:// URL",
        "sources.1.name: duplicate name 'a'",
        "sources.1.brand: unknown brand 'Nobody'",
    ):
        assert expected in problems
    assert len(info.value.problems) == 8


def test_unreadable_files_give_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="problem") as missing:
        load_settings(tmp_path / "nope.toml", environ={})
    assert "file not found" in missing.value.problems[0]
    broken = tmp_path / "broken.toml"
    broken.write_text("[database\nurl=")
    with pytest.raises(ConfigError) as bad:
        load_settings(broken, environ={})
    assert "not valid TOML" in bad.value.problems[0]


def test_environment_overrides_and_secret_is_masked(tmp_path: Path) -> None:
    env = {"STORMWATCH_DATABASE__URL": "postgresql://sw:hunter2@db.internal/sw"}
    settings = load_settings(None, environ=env)
    assert settings.database.url.reveal() == "postgresql://sw:hunter2@db.internal/sw"
    for shown in (repr(settings), str(settings.database), settings.model_dump_json()):
        assert "hunter2" not in shown
    assert "sw:***@db.internal" in repr(settings.database.url)


def test_channel_tokens_never_print() -> None:
    settings = parse_settings(
        {"channels": [{"name": "slack", "url": "slack://T0/B0/tok?x=secret1"}]}
    )
    assert "secret1" not in repr(settings)
    assert "secret1" not in str(settings.channels[0].url)
    assert Secret("abc").masked() == "********"


def test_logs_mask_urls_with_credentials() -> None:
    record = logging.makeLogRecord(
        {"msg": "connect %s", "args": ("postgresql://u:pw123@h/db?token=zz",), "name": "t"}
    )
    line = JsonFormatter().format(record)
    assert "pw123" not in line
    assert "zz" not in line
    assert mask_url("https://h/p?a=1&b=2") == "https://h/p?a=***&b=***"


def test_logs_follow_stdout_when_a_runner_swaps_and_closes_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Logging configured under a CLI runner must not keep the runner's closed stand-in:
    a daemon thread logging later would raise "I/O operation on closed file"."""
    configure(parse_settings({}).log)
    try:
        stand_in, real = io.StringIO(), sys.stdout
        sys.stdout = stand_in
        logging.getLogger("stormwatch.test").warning("during")
        sys.stdout = real
        stand_in.close()
        logging.getLogger("stormwatch.test").warning("after")
    finally:
        logging.getLogger("stormwatch").handlers.clear()
    out = capsys.readouterr().out
    assert '"msg": "after"' in out
    assert "during" not in out


def test_cluster_runner_needs_postgresql_and_a_shared_secret_key() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"runner": {"kind": "cluster", "concurrency": 0}})
    problems = "\n".join(info.value.problems)
    assert "runner.kind: cluster mode needs a PostgreSQL [database] url" in problems
    assert "runner.kind: cluster mode needs [web] secret_key" in problems
    assert "runner.concurrency:" in problems  # listed together with the field errors
    env = {
        "STORMWATCH_RUNNER__KIND": "cluster",
        "STORMWATCH_DATABASE__URL": "postgresql+psycopg://sw@db.internal/sw",
        "STORMWATCH_WEB__SECRET_KEY": "k" * 32,
    }
    assert load_settings(None, environ=env).runner.kind == "cluster"
    assert parse_settings({}).runner.kind == "embedded"
    with pytest.raises(ConfigError) as unknown:
        parse_settings({"runner": {"kind": "celery"}})
    assert unknown.value.problems[0].startswith("runner.kind:")


def test_proxies_and_host_names_are_checked_and_read_from_the_environment() -> None:
    env = {
        "STORMWATCH_WEB__TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16",
        "STORMWATCH_WEB__ALLOWED_HOSTS": "Stormwatch.Internal,[fe80::1]",
    }
    web = load_settings(None, env).web
    assert web.trusted_proxies == ["10.0.0.5", "10.1.0.0/16"]
    assert web.allowed_hosts == ["stormwatch.internal", "fe80::1"]
    assert load_settings(None, {}).web.trusted_proxies == []
    with pytest.raises(ConfigError) as caught:
        parse_settings({"web": {"trusted_proxies": ["proxy.lan"], "allowed_hosts": ["h:80"]}})
    assert caught.value.problems == [
        "web.trusted_proxies: 'proxy.lan' is not an IP address or network "
        "(e.g. 10.0.0.5 or 10.0.0.0/24)",
        "web.allowed_hosts: 'h:80' is not a host name (give no scheme, port or path)",
    ]


def test_the_pagerduty_webhook_secret_is_checked_at_load_and_never_printed() -> None:
    secret = "whsec-7f3c9a1e5b2d4c6a8e0f1a2b"
    env = {"STORMWATCH_WEB__PAGERDUTY_WEBHOOK_SECRET": secret}
    settings = load_settings(None, env)
    assert settings.web.pagerduty_webhook_secret == Secret(secret)
    for shown in (repr(settings), str(settings.web), settings.model_dump_json()):
        assert secret not in shown
    assert load_settings(None, {}).web.pagerduty_webhook_secret is None
    for bad in ("changeme", f" {secret}"):
        with pytest.raises(ConfigError) as caught:
            load_settings(None, {"STORMWATCH_WEB__PAGERDUTY_WEBHOOK_SECRET": bad})
        [problem] = caught.value.problems
        assert problem.startswith(
            "web.pagerduty_webhook_secret (STORMWATCH_WEB__PAGERDUTY_WEBHOOK_SECRET): must be "
            "the subscription's signing secret"
        )
        assert bad.strip() not in problem


def test_a_one_tap_link_lives_at_most_a_day() -> None:
    assert parse_settings({}).oncall.tap_link_minutes == 60
    with pytest.raises(ConfigError) as caught:
        parse_settings({"oncall": {"tap_link_minutes": 7 * 24 * 60}})
    assert caught.value.problems[0].startswith("oncall.tap_link_minutes:")


def test_a_schedule_reports_its_rotation_and_its_zone_each_at_its_key(tmp_path: Path) -> None:
    path = tmp_path / "sw.toml"
    path.write_text(
        '[[oncall.people]]\nname = "mette"\nchannels = ["nowhere", "gone"]\n'
        '[[oncall.schedules]]\nname = "duty"\nrotation = "hourly"\ntimezone = "Mars/Base"\n'
        'start = "2026-01-05"\nmembers = ["mette"]\n'
        '[oncall.business_hours]\ntimezone = "Europe/Nowhere"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert sorted(p.split(":")[0] for p in caught.value.problems) == [
        "oncall.business_hours.timezone",
        "oncall.schedules.0.rotation",
        "oncall.schedules.0.timezone",
    ]
    path.write_text('[[oncall.people]]\nname = "mette"\nchannels = ["nowhere", "gone"]\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert caught.value.problems == [
        "oncall.people[0].channels: unknown name 'nowhere'",
        "oncall.people[0].channels: unknown name 'gone'",
    ]


def test_a_bad_environment_value_names_its_variable(tmp_path: Path) -> None:
    path = tmp_path / "sw.toml"
    path.write_text("[network]\nconcurrency = 4\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={"STORMWATCH_NETWORK__CONCURRENCY": "lots"})
    [problem] = caught.value.problems
    assert problem.startswith("network.concurrency (STORMWATCH_NETWORK__CONCURRENCY): ")
    assert str(caught.value).endswith(f"in {path} and the environment")


def test_a_config_that_watches_nothing_is_valid_but_warned_about() -> None:
    assert warnings_of(parse_settings({})) == [
        "brands: none configured, so no post can match: nothing is watched",
        "sources: none configured, so nothing is crawled",
    ]
    example = load_settings(EXAMPLE, environ={})
    assert warnings_of(example) == []
