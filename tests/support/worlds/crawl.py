"""The crawler on the sample web (``monitor.demo.sampleweb``): settings, one crawl, the sources it
serves, which of its items should be stored, and a config file for the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from monitor.demo.sampleweb import ExpectedItem, SampleWeb
from monitor.pipeline import build_pipeline
from monitor.settings import Settings, parse_settings
from monitor.stages.crawl import CrawlReport
from tests.support.fixtures.clock import T0

BRANDS = [
    {"name": "Nordtel", "aliases": ["nordtel.dk", "nordtel.se", "#nordtel"]},
    {"name": "Teleborg"},
]


def make_settings(
    web: SampleWeb, db: Path, sources: list[dict[str, Any]], **network: Any
) -> Settings:
    return parse_settings(
        {
            "database": {"url": f"sqlite:///{db}"},
            "network": {
                "allowed_hosts": ["127.0.0.1"],
                "min_host_interval": 0.0,
                "deadline": 3.0,
                "max_bytes": 2 * 1024 * 1024,
                **network,
            },
            "crawl": {"backoff_base": 60, "unhealthy_after": 3},
            "brands": BRANDS,
            "sources": sources,
        }
    )


def crawl(
    settings: Settings, engine: Engine, now: Any = T0, names: list[str] | None = None
) -> list[CrawlReport]:
    async def go() -> list[CrawlReport]:
        app = build_pipeline(settings, engine)
        try:
            return await app.crawler.crawl(names or [s.name for s in settings.sources], now)
        finally:
            await app.fetcher.aclose()

    return asyncio.run(go())


def good_sources(web: SampleWeb) -> list[dict[str, Any]]:
    return [
        {"name": name, "kind": kind, "url": web.base_url + path}
        for name, (kind, path) in web.feeds().items()
    ]


def should_store(item: ExpectedItem, by_url: dict[str, ExpectedItem]) -> bool:
    """Stored: posts naming a brand, and comments under a thread root that names one."""
    root = by_url.get(item.thread)
    return bool(item.brands) or (item.thread != item.url and root is not None and bool(root.brands))


def config_for(tmp: Path, web: SampleWeb) -> Path:
    sources = "\n".join(
        f'[[sources]]\nname = "{name}"\nkind = "{kind}"\n'
        f'url = "{web.base_url}{path}"\ninterval = 60\n'
        for name, (kind, path) in web.feeds().items()
    )
    path = tmp / "stormwatch.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp}/sw.db"\n'
        '[network]\nallowed_hosts = ["127.0.0.1"]\nmin_host_interval = 0.0\n'
        '[log]\nformat = "text"\n'
        '[[brands]]\nname = "Nordtel"\naliases = ["#nordtel", "nordtel.dk"]\n'
        '[[brands]]\nname = "Teleborg"\n' + sources
    )
    return path
