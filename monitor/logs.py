"""Structured logs: one JSON object per line on stdout (or plain text for a terminal).

Every line is in the configured format, third-party libraries' included: the same handler
sits on the ``stormwatch`` logger and on the root logger, which ``alerts``, ``classifiers``
and every library propagate to.

Every record passes through ``mask_url`` on its way out, so a URL carrying a password or a
token in its query string never reaches a log even if some code formats one in.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from monitor.settings import LogSettings, mask_url

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask_url(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = mask_url(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exc"] = mask_url(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _STANDARD and not k.startswith("_")
        )
        line = f"{record.levelname.lower():7} {record.name}: {record.getMessage()} {extras}"
        return mask_url(line.rstrip())


class _LiveHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` (or ``sys.stderr``) is when a record is emitted,
    not when logging was configured: a CLI runner (or a test) that swaps the stream and
    closes its stand-in must not leave the daemon's threads writing to a closed file."""

    def __init__(self, name: str, fixed: Any = None) -> None:
        super().__init__(fixed)
        self._name, self._fixed = name, fixed

    @property
    def stream(self) -> Any:
        return getattr(sys, self._name) if self._name else self._fixed

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(settings: LogSettings, stream: Any = None) -> None:
    """Every log line in the configured format: ours (``stormwatch.*``) at ``[log] level``;
    everyone else's (``alerts``, APScheduler's "skipped: maximum number of running instances
    reached", Apprise, httpx) through the same handler on the root logger, at the root's
    level (warnings and up), instead of Python's plain-text last resort on stderr."""
    handler = _handler(stream)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    own = logging.getLogger("stormwatch")
    own.handlers[:] = [handler]
    own.setLevel(settings.level.upper())
    own.propagate = False
    root = logging.getLogger()
    # an earlier configure's handler is replaced; others (a test runner's capture) stay
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _LiveHandler)]
    root.addHandler(handler)


def _handler(stream: Any) -> logging.Handler:
    if stream is None or stream is sys.stdout:
        return _LiveHandler("stdout")
    if stream is sys.stderr:
        return _LiveHandler("stderr")
    return _LiveHandler("", stream)
