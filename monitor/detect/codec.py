"""Incidents to JSON and back, so the daemon can persist its incident book and rebuild it
after a restart (the dataclasses stay plain; this is the only place that knows the shape)."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from monitor.detect.events import Signal
from monitor.detect.incidents import Incident, TimelineEntry

_SIGNALS = ("first", "peak", "last")


def dumps(incident: Incident) -> str:
    return json.dumps(asdict(incident), default=_default, ensure_ascii=False)


def loads(text: str) -> Incident:
    data = json.loads(text)
    for key in _SIGNALS:
        data[key] = _signal(data[key])
    data["timeline"] = [
        TimelineEntry(_when(e["at"]), e["event"], e["reason"], e.get("detail", ""))
        for e in data["timeline"]
    ]
    for key in ("opened_at", "onset_at", "last_signal_at", "acknowledged_at", "resolved_at"):
        data[key] = _when(data[key]) if data.get(key) else None
    return Incident(**data)


def _signal(data: dict[str, Any]) -> Signal:
    names = {f.name for f in fields(Signal)}
    values = {k: v for k, v in data.items() if k in names}
    for key in ("at", "window_start", "window_end"):
        values[key] = _when(values[key])
    values["post_ids"] = tuple(values.get("post_ids", ()))
    return Signal(**values)


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)
