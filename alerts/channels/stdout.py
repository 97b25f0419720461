"""``stdout://`` and ``file:///path``: pages printed or appended, for the demo and operators.

``stdout://`` prints the rendered page (subject and text). ``file:///var/log/pages.jsonl``
appends one JSON line per page (the page plus ``sent_at`` and ``idempotency_key``), so a
script can read it back (and drop a repeat by its key).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from alerts.channels.base import Delivery
from alerts.errors import ChannelConfigError
from alerts.page import Page, render_text

__all__ = ["FileChannel", "StdoutChannel"]


class StdoutChannel:
    """Writes the rendered page to standard output (looked up at send time)."""

    schemes: ClassVar[tuple[str, ...]] = ("stdout",)

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.masked_url = "stdout://"

    def send(self, page: Page, now: datetime) -> Delivery:
        try:
            sys.stdout.write(f"--- page {page.dedup_key} {page.step} ---\n{render_text(page)}")
            sys.stdout.flush()
        except OSError as exc:
            return Delivery.failed(f"stdout_write_failed: {type(exc).__name__}", retryable=True)
        return Delivery.accepted("written")


class FileChannel:
    """Appends one JSON line per page to a local file."""

    schemes: ClassVar[tuple[str, ...]] = ("file",)

    def __init__(self, name: str, url: str) -> None:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise ChannelConfigError(f"channel {name!r}: file URL must be file:///absolute/path")
        self.name = name
        self.path = Path(unquote(parts.path))
        self.masked_url = f"file://{self.path}"

    def send(self, page: Page, now: datetime) -> Delivery:
        extra = {"sent_at": now.isoformat(), "idempotency_key": page.idempotency_key}
        record = json.loads(page.to_json()) | extra
        try:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError as exc:
            return Delivery.failed(f"file_write_failed: {type(exc).__name__}", retryable=True)
        return Delivery.accepted("written")
