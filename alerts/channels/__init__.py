"""Alert channels: one module per kind, one protocol, an explicit scheme registry.

``build_channel(name, url)`` picks the class by URL scheme: ``pagerduty``, ``stdout`` and
``file`` are ours; every other scheme goes to Apprise, which knows ~200 services.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from alerts.channels.apprise_channel import AppriseChannel
from alerts.channels.base import Channel, Delivery, Redactor
from alerts.channels.pagerduty import PagerDutyChannel
from alerts.channels.stdout import FileChannel, StdoutChannel
from alerts.errors import ChannelConfigError

__all__ = [
    "REGISTRY",
    "AppriseChannel",
    "Channel",
    "Delivery",
    "FileChannel",
    "PagerDutyChannel",
    "Redactor",
    "StdoutChannel",
    "build_channel",
    "build_channels",
    "scheme_of",
]

ChannelFactory = Callable[[str, str], Channel]

REGISTRY: Mapping[str, ChannelFactory] = {
    "pagerduty": PagerDutyChannel,
    "stdout": StdoutChannel,
    "file": FileChannel,
}
FALLBACK: ChannelFactory = AppriseChannel


def scheme_of(url: str) -> str:
    """The lower-cased scheme of ``url`` ('' when there is none)."""
    return url.split("://", 1)[0].lower() if "://" in url else ""


def build_channel(name: str, url: str) -> Channel:
    """The channel for ``url``; raises ``ChannelConfigError`` (masked) when none accepts it."""
    if not scheme_of(url):
        raise ChannelConfigError(f"channel {name!r}: the URL has no scheme (like mailto://)")
    return REGISTRY.get(scheme_of(url), FALLBACK)(name, url)


def build_channels(pairs: Iterable[tuple[str, str]]) -> dict[str, Channel]:
    """Channels by name from ``(name, url)`` pairs, e.g. ``config.channel_pairs()``."""
    return {name: build_channel(name, url) for name, url in pairs}
