"""The fetch stage: one polite, guarded, bounded HTTP GET. The only package that imports
httpx and httpcore (tests/test_layout.py).

One module per concern (docs/ARCHITECTURE.md, "Fetch"):

- ``client``: ``Fetcher`` and its ``FetchPolicy``; redirects by hand, politeness per host,
  the overall deadline, credentials only for the origin asked for.
- ``transport``: one HTTP/1.1 exchange on httpcore's public connection pool, whose network
  backend connects only to addresses the gate admits (DNS rebinding); no proxies.
- ``streams``: the lean asyncio byte streams under the connections.
- ``gate``: ``UrlGate``, which URLs and which connected addresses are allowed (SSRF).
- ``decode``: bodies inflated in bounded steps under the decoded-size cap.
- ``robots``: robots.txt per origin (RFC 9309).
- ``backoff``: retry delays and rate-limit headers, pure functions.
- ``translate``: every failure as one ``FetchError``; URLs without secrets for messages.
"""

from monitor.fetch.client import Conditional, Fetched, Fetcher, FetchPolicy
from monitor.fetch.gate import UrlGate
from monitor.fetch.robots import ROBOTS_TOKEN
from monitor.fetch.translate import redact_url

__all__ = [
    "ROBOTS_TOKEN",
    "Conditional",
    "FetchPolicy",
    "Fetched",
    "Fetcher",
    "UrlGate",
    "redact_url",
]
