"""The push endpoints served for real: the web app with a ``PushService`` on a real
pipeline (fetcher, reader, SQLite store), uvicorn on a free loopback port, and a count of
the runner nudges the service asked for. Used inside the test's event loop; the hubs and
platforms call it over HTTP from their own threads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.metrics import Metrics
from monitor.pipeline import Pipeline, build_pipeline
from monitor.push import PushService
from monitor.settings import Settings, parse_settings
from monitor.storage import repo
from monitor.storage.db import make_engine, session_scope, upgrade
from monitor.web import create_app
from monitor.web.server import listen, serve
from tests.support.fixtures.clock import T0
from tests.support.servers.ports import free_port

BRANDS = [{"name": "Nordtel", "aliases": ["#nordtel"]}, {"name": "Teleborg"}]
KEY = "push-test-key-not-a-real-one-0123456789"


@dataclass
class PushWorld:
    settings: Settings
    pipeline: Pipeline
    service: PushService
    base: str
    now: datetime = T0
    nudges: list[datetime] = field(default_factory=list)

    @property
    def engine(self) -> Engine:
        return self.pipeline.engine

    def posts(self) -> list[str]:
        """Stored posts' canonical URLs, in insertion order."""
        with session_scope(self.engine) as session:
            rows = session.execute(sa.text("SELECT canonical_url FROM posts ORDER BY rowid"))
            return [row[0] for row in rows]

    def parents(self) -> dict[str, str]:
        """Stored comments' canonical URLs -> their parents' (post or comment)."""
        query = sa.text(
            "SELECT c.canonical_url, p.canonical_url FROM posts c JOIN posts p"
            " ON p.id = c.parent_id"
        )
        with session_scope(self.engine) as session:
            return {row[0]: row[1] for row in session.execute(query)}

    def due(self, name: str) -> datetime:
        """When the source is next polled (UTC)."""
        with session_scope(self.engine) as session:
            row = repo.source_by_name(session, name)
            assert row is not None
            assert row.next_due_at is not None
            return row.next_due_at.replace(tzinfo=UTC)


def push_settings(db: Path, port: int, sources: list[dict[str, Any]], **push: Any) -> Settings:
    return parse_settings(
        {
            "database": {"url": f"sqlite:///{db}"},
            "network": {"allowed_hosts": ["127.0.0.1"], "min_host_interval": 0.0, "deadline": 5.0},
            "crawl": {"backoff_base": 60, "parse_processes": 0, "languages": ["da", "en"]},
            "web": {"bind": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}"},
            "push": {"secret": KEY, **push},
            "brands": BRANDS,
            "sources": sources,
        }
    )


@asynccontextmanager
async def push_world(
    tmp: Path, sources: list[dict[str, Any]], **push: Any
) -> AsyncIterator[PushWorld]:
    port = free_port()
    settings = push_settings(tmp / "push.db", port, sources, **push)
    engine = make_engine(settings.database)
    await asyncio.to_thread(upgrade, engine)
    pipeline = build_pipeline(settings, engine)
    world: PushWorld
    service = PushService(
        lambda: pipeline, lambda: world.now, lambda: world.nudges.append(world.now), Metrics()
    )
    world = PushWorld(settings, pipeline, service, f"http://127.0.0.1:{port}")
    app = create_app(settings, engine)
    app.state.push = service
    stop = asyncio.Event()
    sock = listen(settings.web.bind)  # listening before the first hub calls back
    server = asyncio.create_task(serve(app, settings.web.bind, stop, sock=sock))
    try:
        yield world
    finally:
        stop.set()
        await server
        await pipeline.aclose()
