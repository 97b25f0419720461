"""``stormwatch run`` and ``stormwatch web``: the daemon and the web UI in one event loop.

The web UI (monitor.web) and the pipeline ticks (monitor.runner.embedded) share the loop; model
and database work run in threads, so pages stay responsive while the model reads. Two
operator endpoints are added here, where the daemon's state is known:

- ``/readyz``: 200 when the last tick got through (monitor.runner.embedded.Health), else 503
  with the reason — a load balancer or systemd health check stops sending managers to a
  daemon that cannot reach its database;
- ``/metrics``: Prometheus text (monitor.metrics). No login: bind the UI to a private
  address or put it behind the proxy's access rules (docs/OPERATIONS.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from monitor.clock import utcnow
from monitor.errors import ConfigError
from monitor.metrics import CONTENT_TYPE, Metrics
from monitor.pipeline import Pipeline, build_pipeline
from monitor.push import PushService
from monitor.runner import Runner
from monitor.runner.embedded import EmbeddedRunner
from monitor.settings import Settings, load_settings
from monitor.storage.db import make_engine, read_scope, upgrade

log = logging.getLogger("stormwatch.daemon")


def add_ops_routes(
    web: FastAPI, metrics: Metrics, ready: Callable[[], tuple[bool, dict[str, Any]]]
) -> None:
    """/readyz and /metrics on the web app (public: no session, no state change)."""

    def readyz() -> JSONResponse:
        ok, body = ready()
        return JSONResponse(
            body, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"}
        )

    def metrics_text() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    web.add_api_route("/readyz", readyz, methods=["GET"], include_in_schema=False)
    web.add_api_route("/metrics", metrics_text, methods=["GET"], include_in_schema=False)


def make_reloader(path: Path, daemon: EmbeddedRunner) -> Callable[[], Pipeline | None]:
    """SIGHUP: re-read the settings file. Refused (old settings kept, every problem
    logged) when the file has problems or names another database; otherwise a new Pipeline on
    the same engine, keeping the acknowledge-link key so links already sent still work."""

    def reload() -> Pipeline | None:
        current = daemon.pipeline
        try:
            settings = load_settings(path)
        except ConfigError as exc:
            log.error(
                "reload refused: the settings file has problems", extra={"problems": exc.problems}
            )
            return None
        if settings.database.url.reveal() != current.settings.database.url.reveal():
            log.error("reload refused: [database] url changed; restart to move databases")
            return None
        fresh = build_pipeline(settings, engine=current.engine)
        if settings.web.secret_key is None:
            fresh.page.key = current.page.key
        return fresh

    return reload


async def run(
    settings: Settings, config_path: Path, *, tick: float, classify: bool, web: bool = True
) -> None:
    """The daemon: pipeline ticks, and the web UI on ``[web] bind`` unless ``web`` is off."""
    from monitor.web import create_app, serve
    from monitor.web.server import listen

    sock = listen(settings.web.bind) if web else None  # a busy port fails before anything starts
    app = build_pipeline(settings)
    await asyncio.to_thread(upgrade, app.engine)
    metrics = Metrics(app.engine, utcnow)
    daemon: Runner
    embedded: EmbeddedRunner | None = None
    if settings.runner.kind == "cluster":  # several processes share the work
        from monitor.runner.cluster import ClusterRunner

        daemon = ClusterRunner(app, tick=tick, classify=classify, metrics=metrics)
    else:
        embedded = EmbeddedRunner(app, tick=tick, classify=classify, metrics=metrics)
        embedded.reloader = make_reloader(config_path, embedded)
        daemon = embedded
    jobs = [daemon.run()]
    push = _push_service(settings, app, embedded, metrics)
    if push is not None:
        jobs.append(push.run(daemon.stopping))
    if sock is not None:
        lend = app.classify.loaded_encoder  # themes from the passages the classifier just read
        ui = create_app(settings, app.engine, ack_key=app.page.key, encoder=lend)
        ui.state.push = push

        def ready() -> tuple[bool, dict[str, Any]]:
            body = daemon.health.to_dict(utcnow(), daemon.tick_seconds)
            return bool(body["ready"]), body

        add_ops_routes(ui, metrics, ready)
        proxies = settings.web.trusted_proxies
        jobs.append(
            serve(ui, settings.web.bind, daemon.stopping, sock=sock, trusted_proxies=proxies)
        )
    await asyncio.gather(*jobs)


def _push_service(
    settings: Settings, app: Pipeline, embedded: EmbeddedRunner | None, metrics: Metrics
) -> PushService | None:
    """The push service when a source pushes (monitor/push). The embedded runner is nudged
    to classify pushed posts at once (and reloads its pipeline: the service follows); a
    cluster's next classify job picks them up."""
    if not any(source.push for source in settings.sources):
        return None
    if embedded is None:
        return PushService(lambda: app, utcnow, metrics=metrics)
    runner = embedded
    return PushService(lambda: runner.pipeline, utcnow, runner.nudge, metrics)


async def run_web(settings: Settings, stop: asyncio.Event) -> None:
    """``stormwatch web``: the UI only (the pipeline runs elsewhere, e.g. other machines)."""
    from monitor.web import create_app, serve
    from monitor.web.server import listen

    sock = listen(settings.web.bind)
    engine = make_engine(settings.database)
    await asyncio.to_thread(upgrade, engine)
    metrics = Metrics(engine, utcnow)

    def ready() -> tuple[bool, dict[str, Any]]:
        try:
            with read_scope(engine) as session:
                session.connection()
        except Exception as exc:
            return False, {"ready": False, "reason": f"database: {exc}"}
        return True, {"ready": True, "reason": "ok"}

    ui = create_app(settings, engine)
    add_ops_routes(ui, metrics, ready)
    try:
        proxies = settings.web.trusted_proxies
        await serve(ui, settings.web.bind, stop, sock=sock, trusted_proxies=proxies)
    finally:
        engine.dispose()
