"""The incident chart: complaint volume against the ordinary band, as inline SVG.

Built on the server from numbers only (coordinates are formatted floats, the few labels
are escaped), so the page needs no chart library and no script. Styling is by class
names in app.css (the CSP forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

from markupsafe import Markup, escape

from monitor.queue.incidents import SeriesPoint

WIDTH, HEIGHT = 640.0, 240.0
LEFT, RIGHT, TOP, BOTTOM = 44.0, 12.0, 12.0, 28.0


def _fmt(value: float) -> str:
    return f"{value:.1f}"


class _Scale:
    def __init__(self, count: int, top: float) -> None:
        self.count = max(count - 1, 1)
        self.top = top if top > 0 else 1.0

    def x(self, index: int) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * index / self.count

    def y(self, value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - max(value, 0.0) / self.top)

    def points(self, values: Sequence[float], start: int = 0, step: int = 1) -> str:
        return " ".join(
            f"{_fmt(self.x(start + i * step))},{_fmt(self.y(v))}" for i, v in enumerate(values)
        )


def _lower(point: SeriesPoint) -> float:
    return max(0.0, 2 * point.expected - point.upper)


def _band(scale: _Scale, series: Sequence[SeriesPoint]) -> str:
    upper = scale.points([p.upper for p in series])
    lower = scale.points([_lower(p) for p in reversed(series)], start=len(series) - 1, step=-1)
    return f'<polygon class="band" points="{upper} {lower}"/>'


def _label(at: datetime, zone: tzinfo) -> str:
    return at.astimezone(zone).strftime("%d %b %H:%M")


def _axes(scale: _Scale, series: Sequence[SeriesPoint], zone: tzinfo) -> list[str]:
    base, top = _fmt(scale.y(0)), _fmt(scale.y(scale.top))
    left, right = _fmt(LEFT), _fmt(WIDTH - RIGHT)
    low = _fmt(HEIGHT - 8)
    return [
        f'<line class="axis" x1="{left}" y1="{base}" x2="{right}" y2="{base}"/>',
        f'<text class="tick" x="{_fmt(LEFT - 6)}" y="{top}" text-anchor="end">'
        f"{_fmt(scale.top)}</text>",
        f'<text class="tick" x="{_fmt(LEFT - 6)}" y="{base}" text-anchor="end">0</text>',
        f'<text class="tick" x="{left}" y="{low}">{escape(_label(series[0].at, zone))}</text>',
        f'<text class="tick" x="{right}" y="{low}" text-anchor="end">'
        f"{escape(_label(series[-1].at, zone))} {escape(_zone_name(series[-1].at, zone))}</text>",
    ]


def _onset(scale: _Scale, series: Sequence[SeriesPoint], onset: datetime | None) -> list[str]:
    if onset is None:
        return []
    hour = onset.replace(minute=0, second=0, microsecond=0)  # the hour that contains it
    index = next((i for i, p in enumerate(series) if p.at >= hour), None)
    if index is None:
        return []
    x = _fmt(scale.x(index))
    return [
        f'<line class="onset" x1="{x}" y1="{_fmt(TOP)}" x2="{x}" y2="{_fmt(scale.y(0))}"/>',
        f'<text class="tick" x="{x}" y="{_fmt(TOP + 10)}" dx="4">onset</text>',
    ]


def _zone_name(at: datetime, zone: tzinfo) -> str:
    return at.astimezone(zone).strftime("%Z")


def summary(series: Sequence[SeriesPoint], zone: tzinfo = UTC) -> str:
    """One sentence saying what the chart shows (its accessible text)."""
    if not series:
        return "No complaint volume recorded for this period."
    peak = max(series, key=lambda p: p.observed)
    return (
        f"Peak {peak.observed:.1f} complaints per hour at {_label(peak.at, zone)} "
        f"{_zone_name(peak.at, zone)}; "
        f"ordinary for that hour: up to {peak.upper:.1f}."
    )


def volume_chart(
    series: Sequence[SeriesPoint], onset: datetime | None = None, zone: tzinfo = UTC
) -> Markup:
    """An ``<svg>`` of observed hourly complaints (line), the expected level (dashed) and
    the ordinary band (shaded); empty markup for an empty series."""
    if not series:
        return Markup("")
    top = max(max(p.observed for p in series), max(p.upper for p in series)) * 1.1
    scale = _Scale(len(series), top)
    parts = [
        f'<svg class="chart" viewBox="0 0 {_fmt(WIDTH)} {_fmt(HEIGHT)}" role="img" '
        f'aria-label="{escape(summary(series, zone))}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(summary(series, zone))}</title>",
        _band(scale, series),
        f'<polyline class="expected" points="{scale.points([p.expected for p in series])}"/>',
        f'<polyline class="observed" points="{scale.points([p.observed for p in series])}"/>',
        *_onset(scale, series, onset),
        *_axes(scale, series, zone),
        "</svg>",
    ]
    return Markup("\n".join(parts))  # numbers and escaped text only
