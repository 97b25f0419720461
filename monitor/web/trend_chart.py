"""The trends page's charts as inline SVG: a time series (mentions and complaints, with the
brand's incidents marked on the same time axis) and horizontal bars (by source, language).

Built from numbers and escaped labels only, like the incident chart (``chart.py``); colours
are SVG presentation attributes, which the page's CSP (no inline styles) allows. Every
chart's numbers are also on the page as a table and as CSV (``/trends.csv``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720.0, 220.0
LEFT, RIGHT, TOP, BOTTOM = 48.0, 12.0, 12.0, 30.0
MENTIONS, COMPLAINTS, INCIDENT = "#5b7fa6", "#c0392b", "#e67e22"
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH = 16.0, 6.0, 140.0
TICKS = 6


@dataclass(frozen=True)
class Point:
    at: datetime
    mentions: int
    complaints: int


def _f(value: float) -> str:
    return f"{value:.1f}"


def series_chart(
    points: Sequence[Point],
    incidents: Sequence[tuple[datetime, str]],
    zone: tzinfo,
    label: str,
    time_format: str = "%d %b",
) -> Markup:
    """Mentions (blue) and complaints (red) over time; an incident is an orange line at its
    opening with its name in a tooltip. Empty markup for no points."""
    if not points:
        return Markup("")
    top = max(max(p.mentions for p in points), 1) * 1.1
    first, last = points[0].at, points[-1].at
    span = max((last - first).total_seconds(), 1.0)

    def x(at: datetime) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (at - first).total_seconds() / span

    def y(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)

    def line(values: Sequence[int], colour: str) -> str:
        coords = " ".join(f"{_f(x(p.at))},{_f(y(v))}" for p, v in zip(points, values, strict=True))
        return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}"/>'

    parts = [
        f'<svg class="chart" viewBox="0 0 {_f(WIDTH)} {_f(HEIGHT)}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        line([p.mentions for p in points], MENTIONS),
        line([p.complaints for p in points], COMPLAINTS),
    ]
    for at, name in incidents:
        if first <= at <= last:
            parts.append(
                f'<line x1="{_f(x(at))}" x2="{_f(x(at))}" y1="{_f(TOP)}" '
                f'y2="{_f(HEIGHT - BOTTOM)}" stroke="{INCIDENT}" stroke-dasharray="4 3">'
                f"<title>{escape(name)}</title></line>"
            )
    parts += _axes(points, zone, time_format, x, y, top)
    parts.append("</svg>")
    return Markup("\n".join(parts))  # numbers and escaped text only


def _axes(
    points: Sequence[Point],
    zone: tzinfo,
    time_format: str,
    x: Callable[[datetime], float],
    y: Callable[[float], float],
    top: float,
) -> list[str]:
    base = HEIGHT - BOTTOM
    parts = [
        f'<line x1="{_f(LEFT)}" x2="{_f(WIDTH - RIGHT)}" y1="{_f(base)}" y2="{_f(base)}" '
        'stroke="#888"/>',
        f'<text x="{_f(LEFT - 6)}" y="{_f(y(top / 1.1) + 4)}" text-anchor="end" '
        f'font-size="11">{round(top / 1.1)}</text>',
        f'<text x="{_f(LEFT - 6)}" y="{_f(base)}" text-anchor="end" font-size="11">0</text>',
    ]
    step = max(1, (len(points) - 1) // (TICKS - 1))
    for point in points[::step]:
        text = escape(point.at.astimezone(zone).strftime(time_format))
        parts.append(
            f'<text x="{_f(x(point.at))}" y="{_f(base + 18)}" text-anchor="middle" '
            f'font-size="11">{text}</text>'
        )
    return parts


def bars_chart(rows: Sequence[tuple[str, int, int]], label: str) -> Markup:
    """Horizontal bars per row (name, mentions, complaints): mentions in blue with the
    complaints part in red over it. Empty markup for no rows."""
    if not rows:
        return Markup("")
    top = max(max(m for _, m, _ in rows), 1)
    height = TOP + len(rows) * (BAR_HEIGHT + BAR_GAP)
    room = WIDTH - LABEL_WIDTH - RIGHT - 60
    parts = [
        f'<svg class="chart" viewBox="0 0 {_f(WIDTH)} {_f(height)}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
    ]
    for i, (name, mentions, complaints) in enumerate(rows):
        y = TOP + i * (BAR_HEIGHT + BAR_GAP)
        w, c = room * mentions / top, room * complaints / top
        parts += [
            f'<text x="{_f(LABEL_WIDTH - 6)}" y="{_f(y + 12)}" text-anchor="end" '
            f'font-size="11">{escape(name[:24])}</text>',
            f'<rect x="{_f(LABEL_WIDTH)}" y="{_f(y)}" width="{_f(w)}" height="{_f(BAR_HEIGHT)}" '
            f'fill="{MENTIONS}"/>',
            f'<rect x="{_f(LABEL_WIDTH)}" y="{_f(y)}" width="{_f(c)}" height="{_f(BAR_HEIGHT)}" '
            f'fill="{COMPLAINTS}"/>',
            f'<text x="{_f(LABEL_WIDTH + w + 4)}" y="{_f(y + 12)}" font-size="11">'
            f"{mentions} / {complaints}</text>",
        ]
    parts.append("</svg>")
    return Markup("\n".join(parts))
