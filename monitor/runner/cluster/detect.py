"""The detect stage when several processes take turns running it.

The ``detect`` lock lets one process at a time run the detector, but not always the same
one. Each process keeps its own :class:`~monitor.stages.detect.DetectStage` (the detector's four
weeks of history are costly to rebuild on every run) and, before each run, takes the
incident book from the database again: open incidents, and those resolved within the
cooldown (a returning storm re-opens them rather than paging anew). Another process may
have opened, grown or resolved incidents since this one last ran, and the book is what
decides whether a signal grows an incident or opens a new one (and pages again).

The detector itself catches up on its own: it reads the readings classified after the
newest one it saw, whoever classified them, up to a watermark read before them (a
classifier on another process may be committing meanwhile; monitor.stages.detect). One
classifier runs at a time and stamps its readings when it starts, so with the machines'
clocks in step (NTP) no reading lands behind a watermark. Readings are never re-read:
the detector would count a post published days ago a second time.

What is not carried over is the detector's memory of which hours were storms (kept out of
the baseline after a surge it saw itself) — what a restart of the embedded daemon forgets
too.
"""

from __future__ import annotations

from datetime import datetime

from monitor.detect import BookUpdate, IncidentBook, IncidentConfig
from monitor.stages.detect import DetectStage, book_incidents
from monitor.storage.db import session_scope


def step(stage: DetectStage, now: datetime) -> list[BookUpdate]:
    """One detector run on this process: catch up, then the shared stage code."""
    if stage.detector is None:
        stage.start(now)
    config = stage.book.config if stage.book is not None else IncidentConfig()
    with session_scope(stage.engine) as session:
        stage.book = IncidentBook(config, incidents=book_incidents(session, now, config))
    return stage.step(now)
