"""Reddit-style listings: ``/r/{sub}/new/.rss`` (Atom, as Reddit serves it) and
``/r/{sub}/new/.json`` (a ``Listing``).

As on Reddit, the Atom ``content`` ends with a "submitted by /u/name [link] [comments]"
trailer, the author is ``/u/name``, the entry id is ``t3_<id>``, and the JSON's
``selftext_html`` is HTML that has been entity-escaped once more (``&lt;div ...``).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from monitor.demo.sampleweb import urls
from monitor.demo.sampleweb.feeds import ATOM, iso, paragraphs_html
from monitor.demo.sampleweb.forum import JSON
from monitor.demo.sampleweb.model import Article, Resource


def _md_html(item: Article) -> str:
    return f'<!-- SC_OFF --><div class="md">{paragraphs_html(item.paragraphs)}</div><!-- SC_ON -->'


def _sorted(items: list[Article]) -> list[Article]:
    return sorted(items, key=lambda a: a.published, reverse=True)


def atom(sub: str, items: list[Article], base: str) -> Resource:
    ordered = _sorted(items)
    modified = ordered[0].published
    entries = "\n".join(_entry(sub, a, base) for a in ordered)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:media="http://search.yahoo.com/mrss/">'
        f'<category term="{sub}" label="r/{sub}"/><updated>{iso(modified)}</updated>'
        f"<icon>https://www.redditstatic.com/icon.png/</icon><id>{base}"
        f"{urls.reddit_listing(sub, 'rss')}</id>"
        f'<link rel="self" href="{base}{urls.reddit_listing(sub, "rss")}" '
        'type="application/atom+xml" />'
        f'<link rel="alternate" href="{base}/r/{sub}/new/" type="text/html" />'
        f"<title>newest submissions : {sub}</title>{entries}</feed>"
    )
    return Resource(body.encode(), ATOM, modified)


def _entry(sub: str, a: Article, base: str) -> str:
    link = base + urls.reddit_item(sub, a)
    trailer = (
        f' &#32; submitted by &#32; <a href="{base}/user/{a.author}"> /u/{a.author} </a>'
        f' <br/> <span><a href="{link}">[link]</a></span> &#32; '
        f'<span><a href="{link}">[comments]</a></span>'
    )
    return (
        f"<entry><author><name>/u/{escape(a.author)}</name>"
        f"<uri>{base}/user/{escape(a.author)}</uri></author>"
        f'<category term="{sub}" label="r/{sub}"/>'
        f'<content type="html">{escape(_md_html(a) + trailer, quote=False)}</content>'
        f'<id>t3_{a.key}</id><link href="{link}" /><updated>{iso(a.published)}</updated>'
        f"<published>{iso(a.published)}</published><title>{escape(a.title)}</title></entry>"
    )


def listing(sub: str, items: list[Article], base: str) -> Resource:
    ordered = _sorted(items)
    children = [{"kind": "t3", "data": _data(sub, a, base)} for a in ordered]
    doc = {
        "kind": "Listing",
        "data": {
            "after": None,
            "dist": len(children),
            "modhash": "",
            "children": children,
            "before": None,
        },
    }
    body = json.dumps(doc, ensure_ascii=False).encode()
    return Resource(body, JSON, ordered[0].published)


def _data(sub: str, a: Article, base: str) -> dict[str, Any]:
    permalink = urls.reddit_item(sub, a)
    return {
        "subreddit": sub,
        "subreddit_name_prefixed": f"r/{sub}",
        "id": a.key,
        "name": f"t3_{a.key}",
        "title": a.title,
        "selftext": "\n\n".join(a.paragraphs),
        "selftext_html": escape(_md_html(a), quote=False),
        "author": a.author,
        "permalink": permalink,
        "url": base + permalink,
        "created_utc": a.published.timestamp(),
        "is_self": True,
        "num_comments": 0,
        "score": 1,
        "over_18": False,
    }
