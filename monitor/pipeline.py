"""Wiring: the pipeline's long-lived parts (engine, fetcher, the four stages) from settings.

The only place that knows how the pieces fit together; the CLI, the daemon and the runners
call it (docs/ARCHITECTURE.md, "The rooms"). Named ``Pipeline`` so that "app" means one
thing only: the web application.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from monitor.fetch import Fetcher, FetchPolicy
from monitor.fetch.gate import UrlGate
from monitor.native import limit_arenas
from monitor.settings import NetworkSettings, Settings
from monitor.stages.classify import ClassifyStage
from monitor.stages.crawl import Crawler
from monitor.stages.detect import DetectStage
from monitor.stages.page import PagingStage
from monitor.stages.page_themes import PageThemes
from monitor.stages.read import make_matchers, make_reader, read_config
from monitor.stages.report import ReportStage
from monitor.storage.db import make_engine


@dataclass
class Pipeline:
    settings: Settings
    engine: Engine
    fetcher: Fetcher
    crawler: Crawler
    classify: ClassifyStage
    detect: DetectStage
    page: PagingStage
    reports: ReportStage | None = None  # weekly reports (the embedded runner sends them)

    async def aclose(self) -> None:
        await self.fetcher.aclose()
        self.crawler.reader.close()
        self.engine.dispose()

    async def aclose_keeping_engine(self) -> None:
        """After a reload: the new Pipeline shares this one's engine (the database did not
        change), so only the HTTP client and the parse workers are closed."""
        await self.fetcher.aclose()
        self.crawler.reader.close()


def fetch_policy(network: NetworkSettings) -> FetchPolicy:
    return FetchPolicy(
        user_agent=network.user_agent,
        connect_timeout=network.connect_timeout,
        read_timeout=network.read_timeout,
        deadline=network.deadline,
        max_bytes=network.max_bytes,
        max_redirects=network.max_redirects,
        min_host_interval=network.min_host_interval,
        gate=UrlGate(
            allow_private_networks=network.allow_private_networks,
            allowed_hosts=frozenset(network.allowed_hosts),
        ),
    )


def build_pipeline(settings: Settings, engine: Engine | None = None) -> Pipeline:
    limit_arenas()  # before the crawl's worker threads exist (see monitor.native)
    engine = engine or make_engine(settings.database)
    fetcher = Fetcher(fetch_policy(settings.network))
    config = read_config(settings)
    match = make_matchers(config)
    reader = make_reader(config, match, settings.crawl.parse_processes)
    crawler = Crawler(settings, engine, fetcher, reader)
    stage = ClassifyStage(
        settings.classifier, engine, match.brands, flag_threshold=settings.queue.flag_threshold
    )
    paging = PagingStage(settings, engine, themes=PageThemes(stage.loaded_encoder))
    reports = ReportStage(settings, engine, paging.channels)
    return Pipeline(settings, engine, fetcher, crawler, stage, DetectStage(engine), paging, reports)
