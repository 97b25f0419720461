"""A simulated web on 127.0.0.1 for tests and the offline demo.

Blogs (WordPress RSS with comment feeds, Atom), news (RSS, JSON Feed), a Google Alerts
feed, a Discourse forum, Reddit listings, a Bluesky PDS, Trustpilot's review API and plain
HTML pages about a fictional Nordic telecom, plus ``/bad/...`` routes that misbehave on
purpose. Standard library only.

Map of the package::

    server.py    SampleWeb: lifecycle, request log, edits, conditional GET, dispatch
    routes.py    path -> rendered resource (pure)
    content.py   the fixed site data (texts, times) and brand mentions
    feeds.py     RSS / Atom / JSON Feed renderers
    pages.py     HTML pages with boilerplate
    forum.py     Discourse JSON       reddit.py   Reddit Atom and JSON listings
    social.py    platform APIs: a Bluesky PDS (searchPosts), Trustpilot reviews
    publish.py   new items at an explicit (simulated) time
    bad.py       misbehaving routes   expected.py ground truth for tests
"""

from monitor.demo.sampleweb.model import ExpectedItem, ExpectedSite, RequestRecord
from monitor.demo.sampleweb.server import SampleWeb

__all__ = ["ExpectedItem", "ExpectedSite", "RequestRecord", "SampleWeb"]
