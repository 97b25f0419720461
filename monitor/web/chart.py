"""The incident chart: complaint volume against the ordinary band, as inline SVG.

Built on the server from numbers only (coordinates are formatted floats, the few labels
are escaped), so the page needs no chart library and no script. Styling is by class
names in app.css (the CSP forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo

from babel.dates import format_datetime
from markupsafe import Markup, escape

from monitor.queue.incidents import SeriesPoint
from monitor.web.format import num
from monitor.web.i18n import DEFAULT, translations

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


def _label(at: datetime, zone: tzinfo, locale: str = DEFAULT) -> str:
    """``02 Nov 10:00`` (the month's short name in ``locale``)."""
    return format_datetime(at.astimezone(zone), "dd MMM HH:mm", locale=locale)


TICKS = 5  # time labels along the axis (two on a 29-hour axis said too little)
HOUR = timedelta(hours=1)


def _tick_indices(count: int) -> list[int]:
    return sorted({round(i * (count - 1) / (TICKS - 1)) for i in range(TICKS)})


def _tick_text(
    series: Sequence[SeriesPoint], index: int, previous: int | None, zone: tzinfo, locale: str
) -> str:
    local = series[index].at.astimezone(zone)
    same_day = previous is not None and series[previous].at.astimezone(zone).date() == local.date()
    text = local.strftime("%H:%M") if same_day else _label(local, zone, locale)
    return text + (" " + local.strftime("%Z") if index == len(series) - 1 else "")


def _axes(scale: _Scale, series: Sequence[SeriesPoint], zone: tzinfo, locale: str) -> list[str]:
    base, top = _fmt(scale.y(0)), _fmt(scale.y(scale.top))
    left, right = _fmt(LEFT), _fmt(WIDTH - RIGHT)
    low = _fmt(HEIGHT - 8)
    parts = [
        f'<line class="axis" x1="{left}" y1="{base}" x2="{right}" y2="{base}"/>',
        f'<text class="tick" x="{_fmt(LEFT - 6)}" y="{top}" text-anchor="end">'
        f"{_fmt(scale.top)}</text>",
        f'<text class="tick" x="{_fmt(LEFT - 6)}" y="{base}" text-anchor="end">0</text>',
    ]
    indices = _tick_indices(len(series))
    for n, index in enumerate(indices):
        anchor = "start" if n == 0 else "end" if index == len(series) - 1 else "middle"
        text = _tick_text(series, index, indices[n - 1] if n else None, zone, locale)
        parts.append(
            f'<text class="tick" x="{_fmt(scale.x(index))}" y="{low}" text-anchor="{anchor}">'
            f"{escape(text)}</text>"
        )
    return parts


def _observed(
    scale: _Scale, series: Sequence[SeriesPoint], partial: bool, locale: str
) -> list[str]:
    """The observed line; the hour still running dashed and marked "so far" (drawn like the
    others it read as the storm dying down)."""
    values = [p.observed for p in series]
    if not partial:
        return [f'<polyline class="observed" points="{scale.points(values)}"/>']
    last = len(values) - 1
    x, y = _fmt(scale.x(last)), _fmt(scale.y(values[-1]))
    running = scale.points(values[-2:], start=last - 1)
    so_far = translations(locale).gettext("so far")
    return [
        f'<polyline class="observed" points="{scale.points(values[:-1])}"/>',
        f'<polyline class="observed partial" points="{running}"/>',
        f'<text class="tick" x="{x}" y="{y}" dy="-6" text-anchor="end">{escape(so_far)}</text>',
    ]


def _spots(scale: _Scale, series: Sequence[SeriesPoint], zone: tzinfo, locale: str) -> list[str]:
    """A target per hour whose title gives its values on hover."""
    said = translations(locale).gettext(
        "%(at)s: %(observed)s complaints (ordinary up to %(upper)s)"
    )
    return [
        f'<circle class="spot" cx="{_fmt(scale.x(i))}" cy="{_fmt(scale.y(p.observed))}" r="5">'
        f"<title>{escape(said % _values(p, zone, locale))}</title></circle>"
        for i, p in enumerate(series)
    ]


def _values(point: SeriesPoint, zone: tzinfo, locale: str) -> dict[str, str]:
    return {
        "at": _label(point.at, zone, locale),
        "observed": num(point.observed, 1, locale),
        "upper": num(point.upper, 1, locale),
    }


def _onset(
    scale: _Scale, series: Sequence[SeriesPoint], onset: datetime | None, locale: str
) -> list[str]:
    if onset is None:
        return []
    hour = onset.replace(minute=0, second=0, microsecond=0)  # the hour that contains it
    index = next((i for i, p in enumerate(series) if p.at >= hour), None)
    if index is None:
        return []
    x = _fmt(scale.x(index))
    said = translations(locale).gettext("onset")
    return [
        f'<line class="onset" x1="{x}" y1="{_fmt(TOP)}" x2="{x}" y2="{_fmt(scale.y(0))}"/>',
        f'<text class="tick" x="{x}" y="{_fmt(TOP + 10)}" dx="4">{escape(said)}</text>',
    ]


def _zone_name(at: datetime, zone: tzinfo) -> str:
    return at.astimezone(zone).strftime("%Z")


def summary(series: Sequence[SeriesPoint], zone: tzinfo = UTC, locale: str = DEFAULT) -> str:
    """One sentence saying what the chart shows (its accessible text)."""
    tr = translations(locale)
    if not series:
        return tr.gettext("No complaint volume recorded for this period.")
    peak = max(series, key=lambda p: p.observed)
    said = tr.gettext(
        "Peak %(observed)s complaints per hour at %(at)s %(zone)s; "
        "ordinary for that hour: up to %(upper)s."
    )
    return said % {**_values(peak, zone, locale), "zone": _zone_name(peak.at, zone)}


def volume_chart(
    series: Sequence[SeriesPoint],
    onset: datetime | None = None,
    zone: tzinfo = UTC,
    now: datetime | None = None,
    locale: str = DEFAULT,
) -> Markup:
    """An ``<svg>`` of observed hourly complaints (line), the expected level (dashed) and
    the ordinary band (shaded); empty markup for an empty series."""
    if not series:
        return Markup("")
    top = max(max(p.observed for p in series), max(p.upper for p in series)) * 1.1
    scale = _Scale(len(series), top)
    partial = now is not None and len(series) > 1 and series[-1].at + HOUR > now
    parts = [
        f'<svg class="chart" viewBox="0 0 {_fmt(WIDTH)} {_fmt(HEIGHT)}" role="img" '
        f'aria-label="{escape(summary(series, zone, locale))}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(summary(series, zone, locale))}</title>",
        _band(scale, series),
        f'<polyline class="expected" points="{scale.points([p.expected for p in series])}"/>',
        *_observed(scale, series, partial, locale),
        *_onset(scale, series, onset, locale),
        *_axes(scale, series, zone, locale),
        *_spots(scale, series, zone, locale),
        "</svg>",
    ]
    return Markup("\n".join(parts))  # numbers and escaped text only
