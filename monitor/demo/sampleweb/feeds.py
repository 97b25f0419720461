"""XML and JSON feeds of the simulated web, rendered from :class:`Site` on every request.

Shapes follow the real thing: WordPress RSS 2.0 (``content:encoded``, ``dc:creator``,
``wfw:commentRss``, ``slash:comments``) and its per-post comment feeds, an Atom blog,
news as RSS 2.0 and JSON Feed 1.1, and a Google Alerts Atom feed whose links wrap the
real article URL in ``https://www.google.com/url?...&url=<encoded>``.

Threaded WordPress comments: a reply carries ``<thr:in-reply-to ref="<parent guid>"
href="<parent comment URL>" type="text/html"/>`` (RFC 4685); a top-level comment has none,
its parent is the article. feedparser exposes it as ``entry["thr_in-reply-to"]["href"]``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from monitor.demo.sampleweb import urls
from monitor.demo.sampleweb.model import Article, BlogPost, Comment, Resource, Site

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json; charset=utf-8"
_CET = timezone(timedelta(hours=1))
_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
_WP_NS = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:atom="http://www.w3.org/2005/Atom" '
    'xmlns:slash="http://purl.org/rss/1.0/modules/slash/" '
    'xmlns:thr="http://purl.org/syndication/thread/1.0"'
)


def rfc822(dt: datetime) -> str:
    """RSS dates, in Danish local winter time as a Copenhagen WordPress would write them."""
    return format_datetime(dt.astimezone(_CET))


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def paragraphs_html(paragraphs: Iterable[str]) -> str:
    return "\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _latest(times: Iterable[datetime]) -> datetime:
    return max(times)


# --- WordPress ------------------------------------------------------------------------


def blog_modified(post: BlogPost) -> datetime:
    return _latest([post.modified, *(c.published for c in post.comments)])


def blog_feed(site: Site, base: str) -> Resource:
    posts = sorted(site.blog, key=lambda p: p.published, reverse=True)
    modified = _latest(blog_modified(p) for p in posts)
    items = "\n".join(_blog_item(p, base) for p in posts)
    body = (
        f'{_XML_DECL}<rss version="2.0" {_WP_NS}>\n<channel>\n'
        "<title>Riis på hverdagen</title>\n"
        f'<atom:link href="{base}{urls.BLOG_FEED}" rel="self" type="application/rss+xml" />\n'
        f"<link>{base}{urls.BLOG}</link>\n"
        "<description>Om børn, brød og bredbånd</description>\n"
        f"<lastBuildDate>{rfc822(modified)}</lastBuildDate>\n"
        "<language>da-DK</language>\n<generator>https://wordpress.org/?v=6.7</generator>\n"
        f"{items}\n</channel>\n</rss>\n"
    )
    return Resource(body.encode(), RSS, modified)


def _blog_item(post: BlogPost, base: str) -> str:
    link = base + urls.blog_post(post.slug)
    excerpt = post.paragraphs[0][:200] + (" [&#8230;]" if len(post.paragraphs[0]) > 200 else "")
    return (
        f"<item>\n<title>{escape(post.title)}</title>\n<link>{link}</link>\n"
        f"<comments>{link}#respond</comments>\n"
        f"<dc:creator>{_cdata(post.author)}</dc:creator>\n"
        f"<pubDate>{rfc822(post.published)}</pubDate>\n"
        f"<category>{_cdata(post.category)}</category>\n"
        f'<guid isPermaLink="false">{base}/blog/?p={post.wp_id}</guid>\n'
        f"<description>{_cdata(excerpt)}</description>\n"
        f"<content:encoded>{_cdata(paragraphs_html(post.paragraphs))}</content:encoded>\n"
        f"<wfw:commentRss>{base}{urls.comment_feed(post.slug)}</wfw:commentRss>\n"
        f"<slash:comments>{len(post.comments)}</slash:comments>\n</item>"
    )


def comment_feed(post: BlogPost, base: str) -> Resource:
    link = base + urls.blog_post(post.slug)
    comments = sorted(post.comments, key=lambda c: c.published, reverse=True)
    items = "\n".join(_comment_item(post, c, base) for c in comments)
    modified = blog_modified(post)
    body = (
        f'{_XML_DECL}<rss version="2.0" {_WP_NS}>\n<channel>\n'
        f"<title>{escape('Kommentarer til: ' + post.title)}</title>\n"
        f'<atom:link href="{base}{urls.comment_feed(post.slug)}" rel="self" '
        'type="application/rss+xml" />\n'
        f"<link>{link}</link>\n<description>Om børn, brød og bredbånd</description>\n"
        f"<lastBuildDate>{rfc822(modified)}</lastBuildDate>\n<language>da-DK</language>\n"
        f"{items}\n</channel>\n</rss>\n"
    )
    return Resource(body.encode(), RSS, modified)


def _comment_guid(post: BlogPost, comment_id: int, base: str) -> str:
    return f"{base}/blog/?p={post.wp_id}#comment-{comment_id}"


def _comment_item(post: BlogPost, c: Comment, base: str) -> str:
    title = f"Af: {c.author}"
    reply = ""
    if c.parent is not None:
        ref = quoteattr(_comment_guid(post, c.parent, base))
        href = quoteattr(base + urls.comment(post.slug, c.parent))
        reply = f'<thr:in-reply-to ref={ref} href={href} type="text/html"/>\n'
    return (
        f"<item>\n<title>{escape(title)}</title>\n"
        f"<link>{base}{urls.comment(post.slug, c.id)}</link>\n"
        f"<dc:creator>{_cdata(c.author)}</dc:creator>\n"
        f"<pubDate>{rfc822(c.published)}</pubDate>\n"
        f'<guid isPermaLink="false">{_comment_guid(post, c.id, base)}</guid>\n{reply}'
        f"<description>{_cdata(c.text)}</description>\n"
        f"<content:encoded>{_cdata(paragraphs_html([c.text]))}</content:encoded>\n</item>"
    )


# --- Atom blog, news RSS, JSON Feed, private feed -------------------------------------------


def sv_blog_feed(site: Site, base: str) -> Resource:
    entries = sorted(site.sv_blog, key=lambda a: a.published, reverse=True)
    modified = _latest(a.published for a in entries)
    body = (
        f'{_XML_DECL}<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="sv">\n'
        "<title>Lisas vardag</title>\n<subtitle>Fjäll, fika och fiberstrul</subtitle>\n"
        f"<id>{base}/sv-blog/</id>\n<updated>{iso(modified)}</updated>\n"
        f'<link rel="alternate" type="text/html" href="{base}/sv-blog/"/>\n'
        f'<link rel="self" type="application/atom+xml" href="{base}{urls.SV_BLOG_FEED}"/>\n'
        + "\n".join(_atom_entry(a, base) for a in entries)
        + "\n</feed>\n"
    )
    return Resource(body.encode(), ATOM, modified)


def _atom_entry(a: Article, base: str) -> str:
    link = base + urls.sv_entry(a.key)
    return (
        f"<entry>\n<title>{escape(a.title)}</title>\n"
        f'<link rel="alternate" type="text/html" href="{link}"/>\n'
        f"<id>{link}</id>\n<published>{iso(a.published)}</published>\n"
        f"<updated>{iso(a.published)}</updated>\n"
        f"<author><name>{escape(a.author)}</name></author>\n"
        f'<content type="html">{escape(paragraphs_html(a.paragraphs))}</content>\n</entry>'
    )


def rss_feed(title: str, self_path: str, items: list[tuple[str, Article]], base: str) -> Resource:
    """A plain RSS 2.0 feed of ``(link, article)`` pairs (news, private feed)."""
    modified = _latest(a.published for _, a in items)
    body = (
        f'{_XML_DECL}<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
        f"<title>{escape(title)}</title>\n<link>{base}/</link>\n"
        f'<atom:link href="{base}{self_path}" rel="self" type="application/rss+xml" />\n'
        f"<description>{escape(title)}</description>\n"
        f"<lastBuildDate>{rfc822(modified)}</lastBuildDate>\n"
        + "\n".join(_rss_item(link, a) for link, a in items)
        + "\n</channel>\n</rss>\n"
    )
    return Resource(body.encode(), RSS, modified)


def _rss_item(link: str, a: Article) -> str:
    return (
        f"<item>\n<title>{escape(a.title)}</title>\n<link>{escape(link)}</link>\n"
        f'<guid isPermaLink="true">{escape(link)}</guid>\n'
        f"<pubDate>{rfc822(a.published)}</pubDate>\n"
        f"<dc:creator>{escape(a.author)}</dc:creator>\n"
        f"<description>{escape(paragraphs_html(a.paragraphs))}</description>\n</item>"
    )


def news_rss(site: Site, base: str) -> Resource:
    items = sorted(site.news_rss, key=lambda a: a.published, reverse=True)
    pairs = [(base + urls.news(a.key), a) for a in items]
    return rss_feed("Nordisk Telenyt", urls.NEWS_RSS, pairs, base)


def private_feed(site: Site, base: str) -> Resource:
    pairs = [(base + urls.private(a.key), a) for a in site.private]
    return rss_feed("Intern", urls.PRIVATE_FEED, pairs, base)


def news_json(site: Site, base: str) -> Resource:
    items = sorted(site.news_json, key=lambda a: a.published, reverse=True)
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Nordisk Telenyt – morgenbrief",
        "home_page_url": base + "/news/",
        "feed_url": base + urls.NEWS_JSON,
        "language": "da",
        "items": [_json_item(a, site, base) for a in items],
    }
    body = json.dumps(doc, ensure_ascii=False, indent=1).encode()
    return Resource(body, JSON_FEED, _latest(a.published for a in items))


def _json_item(a: Article, site: Site, base: str) -> dict[str, object]:
    url = base + urls.news(a.key)
    if a.key == site.dup_news_key:
        url += "?" + urls.DUP_TRACKING
    return {
        "id": url,
        "url": url,
        "title": a.title,
        "content_html": paragraphs_html(a.paragraphs),
        "date_published": iso(a.published),
        "authors": [{"name": a.author}],
        "language": a.lang,
    }


# --- Google Alerts ------------------------------------------------------------------------

_BRAND_BOLD = re.compile(r"\bNordtel(?=s?\b)")


def google_url(real_url: str, n: int) -> str:
    """Google Alerts wraps every result in a redirect through ``/url``."""
    return (
        f"https://www.google.com/url?rct=j&sa=t&url={quote(real_url, safe='')}"
        f"&ct=ga&cd=CAEYACoUMTA{n:04d}MjYzNDQ3OTI3NjMyMhw&usg=AOvVaw0nRdtEl{n:04d}"
    )


def _bold(text: str) -> str:
    return _BRAND_BOLD.sub("<b>Nordtel</b>", html.escape(text, quote=False))


def alerts_feed(site: Site, base: str) -> Resource:
    pages = sorted(site.pages, key=lambda a: a.published, reverse=True)
    modified = _latest(a.published for a in pages)
    body = (
        f'{_XML_DECL}<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:idx="urn:atom-extension:indexing">\n'
        "<id>tag:google.com,2005:reference:user/06848512315384112734/state/com.google/"
        "alerts/11894318716521466537</id>\n<title>Google Alert - Nordtel</title>\n"
        '<link href="https://www.google.com/alerts/feeds/06848512315384112734/'
        '11894318716521466537" rel="self"/>\n'
        f"<updated>{iso(modified)}</updated>\n"
        + "\n".join(_alert_entry(a, i, base) for i, a in enumerate(pages, start=1))
        + "\n</feed>\n"
    )
    return Resource(body.encode(), ATOM, modified)


def _alert_entry(a: Article, n: int, base: str) -> str:
    hit = next((p for p in a.paragraphs if _BRAND_BOLD.search(p)), a.paragraphs[0])
    snippet = hit[:180] + ("..." if len(hit) > 180 else "")
    return (
        f"<entry>\n<id>tag:google.com,2013:googlealerts/feed:{9_000_000 + n}</id>\n"
        f'<title type="html">{escape(_bold(a.title))}</title>\n'
        f"<link href={quoteattr(google_url(base + urls.page(a.key), n))}/>\n"
        f"<published>{iso(a.published)}</published>\n<updated>{iso(a.published)}</updated>\n"
        f'<content type="html">{escape(_bold(snippet))}</content>\n'
        "<author><name/></author>\n</entry>"
    )
