"""The demo's settings: the embedded defaults plus the local sources, people and channels.

Everything else is the default a new installation gets (SQLite, the default model, the
default detectors, the default outbox). Crawl intervals are seconds of the clock the
crawler is given: here the simulated one, so "every 10 minutes" is 10 simulated minutes.

Paging: Mette is on PR duty this week (schedule ``pr-duty``, handing over to Sofie on
Monday); she is paged by e-mail to the local mailbox, and level 1 also writes to the
terminal. Anders (head of communications) is level 2, by e-mail, when nobody has
acknowledged after 20 minutes; he gets one reminder after 30 more. A growing storm's
follow-up pages go out at most hourly. Reddit is read through its RSS listings (in the
JSON ones ``selftext_html`` is escaped twice, and the reddit adapter keeps that markup in
the text for now). The settings are also written to ``stormwatch.toml`` in the
demo folder, so ``stormwatch incidents list --config stormwatch-demo/stormwatch.toml``
(or ``queue list``, ``posts list``, ``web``) works on the demo's database afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.settings import Settings, parse_settings

# Crawl interval per source name in simulated seconds: every 10 minutes for the blog and
# the forum, 15 for news and Reddit, 30 for the alerts feed. A little under a multiple of
# the 5-minute tick, so the crawler's +-10 % jitter never pushes a crawl to the next tick.
# Bluesky is searched every tick and Trustpilot every 10 minutes: the storm shows there first.
INTERVALS = {"blog": 540, "forum": 540, "google-alerts": 1620, "bluesky": 270, "trustpilot": 540}
DEFAULT_INTERVAL = 810
PAGE_INTERVAL = 3300
PEOPLE = {"mette": "Mette", "sofie": "Sofie", "anders": "Anders"}
LEVEL_WAIT_MINUTES = 20
WEB_PORT = 8080  # the UI, or a free port when it is taken


def source_table(
    feeds: dict[str, tuple[str, str]],
    base_url: str,
    platforms: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The ``[[sources]]``: the simulated web's feeds (name -> kind, path) and its platform
    APIs (name -> their source keys, credentials included: ``SampleWeb.platforms``)."""
    sources = []
    for name, (kind, path) in feeds.items():
        if kind == "reddit":
            path = path.replace("/.json", "/.rss")
        interval = PAGE_INTERVAL if kind == "html" else INTERVALS.get(name, DEFAULT_INTERVAL)
        source: dict[str, Any] = {"name": name, "kind": kind, "url": base_url + path}
        source["interval"] = interval
        if kind == "discourse":
            source["brand"] = "Nordtel"  # the brand's own community forum
        sources.append(source)
    for name, keys in (platforms or {}).items():
        sources.append({"name": name, **keys, "interval": INTERVALS.get(name, DEFAULT_INTERVAL)})
    return sources


def mail_url(port: int, person: str) -> str:
    return f"mailto://127.0.0.1:{port}?from=stormwatch@nordtel.example&to={person}@nordtel.example"


def oncall() -> dict[str, Any]:
    return {
        "followup_minutes": 60,  # a growing storm's updates: at most hourly
        "people": [{"name": p, "channels": [f"mail-{p}"]} for p in PEOPLE],
        "schedules": [
            {
                "name": "pr-duty",
                "rotation": "weekly",
                "start": "2026-03-02",
                "handoff": "09:00:00",
                "members": ["mette", "sofie"],
            }
        ],
        "policies": [
            {
                "name": "storms",
                "repeat_minutes": 30,
                "repeat_limit": 1,
                "levels": [
                    {"schedules": ["pr-duty"], "channels": ["terminal"],
                     "wait_minutes": LEVEL_WAIT_MINUTES},
                    {"people": ["anders"]},
                ],
            }
        ],
    }  # fmt: skip


def raw_settings(
    folder: Path,
    sources: list[dict[str, Any]],
    mail_port: int,
    web_port: int,
    secret_key: str,
) -> dict[str, Any]:
    channels = [{"name": "terminal", "url": "stdout://"}]
    channels += [{"name": f"mail-{p}", "url": mail_url(mail_port, p)} for p in PEOPLE]
    return {
        "database": {"url": f"sqlite:///{folder / 'stormwatch-demo.db'}"},
        "network": {"allowed_hosts": ["127.0.0.1"], "min_host_interval": 0.0, "deadline": 10},
        "log": {"format": "text", "level": "warning"},
        "web": {
            "bind": f"127.0.0.1:{web_port}",
            "public_url": f"http://127.0.0.1:{web_port}",
            "secret_key": secret_key,
        },
        "brands": [
            {
                "name": "Nordtel",
                "aliases": ["nordtel.dk", "nordtel.se", "#nordtel"],
                "excludes": ["Nordtel Arena"],
            },
            {"name": "Teleborg", "aliases": ["teleborg.se"]},
        ],
        "sources": sources,
        "channels": channels,
        "oncall": oncall(),
    }


def demo_settings(raw: dict[str, Any]) -> Settings:
    return parse_settings(raw, "demo")


# --- writing the settings back as TOML ---------------------------------------------------


def write_toml(raw: dict[str, Any], path: Path) -> None:
    """Write ``raw`` (tables, arrays of tables, scalars, lists of scalars) as TOML. The file
    holds the demo's secret key, so it is readable by its owner only."""
    lines = ["# Written by `stormwatch demo`: the demo's settings.", *_table([], raw)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


def _table(keys: list[str], table: dict[str, Any]) -> list[str]:
    plain = {k: v for k, v in table.items() if not _nested(v)}
    lines = [f"{k} = {_value(v)}" for k, v in plain.items()]
    for key, value in table.items():
        if isinstance(value, dict):
            lines += ["", f"[{'.'.join([*keys, key])}]", *_table([*keys, key], value)]
        elif _nested(value):
            for item in value:
                lines += ["", f"[[{'.'.join([*keys, key])}]]", *_table([*keys, key], item)]
    return lines


def _nested(value: Any) -> bool:
    is_tables = isinstance(value, list) and bool(value) and isinstance(value[0], dict)
    return isinstance(value, dict) or is_tables


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
