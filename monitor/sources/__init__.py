"""Source kinds, one module each, and the registry that maps a config ``kind`` to one."""

from __future__ import annotations

import functools

from monitor.sources.appstore import AppStoreAdapter
from monitor.sources.base import ApiAdapter, Parsed, RawPost, Request, SourceAdapter
from monitor.sources.bluesky import BlueskyAdapter
from monitor.sources.discourse import DiscourseAdapter
from monitor.sources.facebook_page import FacebookPageAdapter
from monitor.sources.feed import FeedAdapter
from monitor.sources.google_play import GooglePlayAdapter
from monitor.sources.hackernews import HackerNewsAdapter
from monitor.sources.html import HtmlAdapter
from monitor.sources.mastodon import MastodonAdapter
from monitor.sources.reddit import RedditAdapter
from monitor.sources.trustpilot import TrustpilotAdapter
from monitor.sources.wordpress import WordPressAdapter
from monitor.sources.x import XAdapter
from monitor.sources.youtube import YouTubeAdapter

__all__ = ["ApiAdapter", "Parsed", "RawPost", "Request", "SourceAdapter", "adapter_for"]


@functools.lru_cache(maxsize=64)
def adapter_for(kind: str, *, max_follow: int = 50) -> SourceAdapter:
    """The adapter for a configured ``kind`` (settings validation guarantees it exists).
    Adapters are stateless, so one instance per (kind, max_follow) serves every source."""
    registry: dict[str, SourceAdapter] = {
        "feed": FeedAdapter(),
        "wordpress": WordPressAdapter(max_follow),
        "discourse": DiscourseAdapter(max_follow),
        "reddit": RedditAdapter(),
        "html": HtmlAdapter(),
        "hackernews": HackerNewsAdapter(),
        "appstore": AppStoreAdapter(),
        "mastodon": MastodonAdapter(),
        "bluesky": BlueskyAdapter(),
        "trustpilot": TrustpilotAdapter(),
        "youtube": YouTubeAdapter(),
        "x": XAdapter(),
        "google_play": GooglePlayAdapter(),
        "facebook_page": FacebookPageAdapter(),
    }
    return registry[kind]
