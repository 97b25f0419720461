"""How the command line prints.

- Data is never read as rich markup or emoji codes: ``Nordtel:thread:20260304T1450Z`` and
  ``[network]`` print as they are.
- ``--json`` lines go straight to stdout, never through rich.
- A table is drawn only for a terminal; piped or redirected, each row is one line of
  tab-separated full values (a header line first), never wrapped or cut.
- Times carry their zone: ``2026-12-14 08:00 UTC``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["console", "err", "iso", "out", "print_json", "print_table", "utc"]


def console(**options: Any) -> Console:
    """A console that prints text as given: no markup, no emoji codes, no highlighting."""
    return Console(highlight=False, soft_wrap=True, markup=False, emoji=False, **options)


out = console()
err = console(stderr=True)


def print_json(data: Any, indent: int | None = None) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=indent) + "\n")


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    clip: Mapping[str, int] | None = None,
    to: Console | None = None,
) -> None:
    """``rows`` of plain values; ``clip``: column -> characters shown in a terminal."""
    target = to or out
    if not target.is_terminal:
        lines = ["\t".join(columns)] + ["\t".join(_plain(value) for value in row) for row in rows]
        target.file.write("".join(line + "\n" for line in lines))
        return
    table = Table()
    for name in columns:
        width = (clip or {}).get(name)
        table.add_column(name, max_width=width, no_wrap=width is not None, overflow="ellipsis")
    for row in rows:
        table.add_row(*(Text(_plain(value)) for value in row))
    target.print(table)


def _plain(value: Any) -> str:
    text = "" if value is None else str(value)
    return " ".join(text.split()) if any(ch in text for ch in "\t\n\r") else text


def utc(value: datetime | str | None, empty: str = "") -> str:
    """``2026-12-14 08:00 UTC`` for an aware time or an ISO string; ``empty`` for none."""
    if value is None or value == "":
        return empty
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(value: datetime | None) -> str | None:
    """A time as ``--json`` prints it: ISO 8601, or null."""
    return value.isoformat() if value else None
