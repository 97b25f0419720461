"""Runners: what drives the stages (monitor.stages) over time.

    embedded.py  one process, APScheduler: every tick runs crawl, classify, detect, page
    cluster/     several processes, procrastinate on PostgreSQL: each stage a job
    ticks.py     what both do around every stage (guard, /readyz, metrics, logs): Ledger

``monitor.daemon`` serves ``/readyz`` and ``/metrics`` from any :class:`Runner` alike
(docs/ARCHITECTURE.md, "Runners").
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from monitor.metrics import Metrics
from monitor.runner.ticks import Health


class Runner(Protocol):
    """What the daemon needs of a runner: its health and metrics for the operator routes,
    the tick length that makes a tick "recent", the event that stops it, run and stop."""

    health: Health
    metrics: Metrics
    tick_seconds: float
    stopping: asyncio.Event

    async def run(self, install_signals: bool = True) -> None: ...

    def stop(self) -> None: ...
