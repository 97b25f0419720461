"""Canonical URLs: the identity of a post.

The same article reached through two feeds, with ``utm_*`` tracking parameters, through a
Google Alerts redirect or with a different host case is one post. Fragments are dropped,
except the ones that name a comment (``#comment-12``), because on a blog every comment
lives at the article URL plus its anchor.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "ref_src", "ref_url", "spm", "cmpid",
        "share", "si", "s_cid", "ncid", "ocid", "sr_share", "trk", "trkcampaign",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "itm_")
_COMMENT_FRAGMENT = re.compile(r"^(?:comment|post|reply|p|c|li-comment)[-_]?\d+$", re.I)
_REDIRECTORS = {("www.google.com", "/url"), ("google.com", "/url"), ("www.bing.com", "/ck/a")}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """Normalise ``url`` for identity (never for fetching: we fetch what the feed gave).
    A URL too broken to split (a bad IPv6 literal or port) is its own identity."""
    try:
        return _canonical(unwrap_redirect(url.strip()))
    except ValueError:
        return url.strip()


def _canonical(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port if parts.port and parts.port != _DEFAULT_PORTS.get(scheme) else None
    netloc = f"[{host}]" if ":" in host else host
    if port:
        netloc += f":{port}"
    path = parts.path or "/"
    query = urlencode(sorted(_kept_params(parts.query)))
    fragment = parts.fragment if _COMMENT_FRAGMENT.match(parts.fragment) else ""
    return urlunsplit((scheme, netloc, path, query, fragment))


def unwrap_redirect(url: str) -> str:
    """Google Alerts links point at ``google.com/url?...&url=REAL``; take the real URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if ((parts.hostname or "").lower(), parts.path) not in _REDIRECTORS:
        return url
    params = dict(parse_qsl(parts.query))
    real = params.get("url") or params.get("q") or params.get("u") or ""
    return real if real.startswith(("http://", "https://")) else url


def post_id(canonical: str) -> str:
    """Stable 32-hex id from the canonical URL."""
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def _kept_params(query: str) -> list[tuple[str, str]]:
    return [
        (key, value)
        for key, value in parse_qsl(query, keep_blank_values=True)
        if key.lower() not in _TRACKING_PARAMS and not key.lower().startswith(_TRACKING_PREFIXES)
    ]
