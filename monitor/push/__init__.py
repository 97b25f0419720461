"""Push instead of polling (docs/push.md): WebSub subscriptions, Facebook Page webhooks
and Mastodon hashtag streams, all stored through the crawl's read and store path
(``intake``) and answered by a nudged pass of classify, detect and page.

- ``websub``: the WebSub protocol's pure parts (discovery, intent, signatures, leases).
- ``subscriber``: the subscriptions' lives and the hubs' calls.
- ``facebook``: Facebook Page webhook deliveries.
- ``stream``: Server-Sent Events streams (Mastodon) with reconnect, backoff and a gap poll.
- ``intake``: pushed documents into the store, group-committed, then the nudge.
- ``limits``: per-client rate limits of the public endpoints.
- ``service``: ``PushService``, what the daemon runs and the web routes call.
"""

from monitor.push.service import PushService

__all__ = ["PushService"]
