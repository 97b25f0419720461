"""The fetch stage: one polite, guarded, bounded HTTP GET (see ``monitor.fetch.client``)."""

from monitor.fetch.client import (
    ROBOTS_TOKEN,
    Conditional,
    Fetched,
    Fetcher,
    FetchPolicy,
    redact_url,
)
from monitor.fetch.gate import UrlGate

__all__ = [
    "ROBOTS_TOKEN",
    "Conditional",
    "FetchPolicy",
    "Fetched",
    "Fetcher",
    "UrlGate",
    "redact_url",
]
