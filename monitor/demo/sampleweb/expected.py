"""Ground truth: every post, comment, forum post and submission the well-behaved sources
publish, with canonical absolute URLs (what ``monitor.canonical.canonical_url`` gives).

Source names match :func:`monitor.demo.sampleweb.server.SampleWeb.feeds`. The news item that is
in both news feeds appears once (source ``news-rss``); the Google Alerts entries are the
HTML pages (kind ``page``, source ``google-alerts``). ``brands`` are the brands the item's
own text names: on Nordtel's own forum many posts name none.
"""

from __future__ import annotations

from monitor.demo.sampleweb import urls
from monitor.demo.sampleweb.content import mentions
from monitor.demo.sampleweb.model import (
    Article,
    BlogPost,
    ExpectedItem,
    ExpectedSite,
    Site,
    Topic,
)


def _brands(explicit: tuple[str, ...] | None, *texts: str) -> frozenset[str]:
    return frozenset(explicit) if explicit is not None else mentions(*texts)


def _article(kind: str, source: str, url: str, a: Article) -> ExpectedItem:
    text = "\n\n".join(a.paragraphs)
    return ExpectedItem(
        kind=kind,
        source=source,
        url=url,
        thread=url,
        parent=None,
        author=a.author,
        lang=a.lang,
        brands=_brands(a.brands, a.title, text),
        title=a.title,
        text=text,
        published=a.published,
    )


def _blog(post: BlogPost, base: str) -> list[ExpectedItem]:
    root = base + urls.blog_post(post.slug)
    text = "\n\n".join(post.paragraphs)
    out = [
        ExpectedItem("blog_post", "blog", root, root, None, post.author, post.lang,
                     _brands(post.brands, post.title, text), post.title, text, post.published)
    ]  # fmt: skip
    for c in post.comments:
        parent = root if c.parent is None else base + urls.comment(post.slug, c.parent)
        url = base + urls.comment(post.slug, c.id)
        out.append(
            ExpectedItem("blog_comment", "blog", url, root, parent, c.author, c.lang,
                         _brands(c.brands, c.text), None, c.text, c.published)
        )  # fmt: skip
    return out


def _topic(t: Topic, base: str) -> list[ExpectedItem]:
    root = base + urls.topic(t)
    out = []
    for p in t.posts:
        parent = None if p.number == 1 else base + urls.forum_post(t, p.reply_to or 1)
        title = t.title if p.number == 1 else None
        texts = (t.title, p.text) if p.number == 1 else (p.text,)
        out.append(
            ExpectedItem("forum_post", "forum", base + urls.forum_post(t, p.number), root,
                         parent, p.username, p.lang, _brands(p.brands, *texts), title,
                         p.text, p.published)
        )  # fmt: skip
    return out


def expected_site(site: Site, base: str) -> ExpectedSite:
    items: list[ExpectedItem] = []
    for post in site.blog:
        items += _blog(post, base)
    items += [_article("sv_blog", "sv-blog", base + urls.sv_entry(a.key), a) for a in site.sv_blog]
    rss_keys = {a.key for a in site.news_rss}
    items += [_article("news", "news-rss", base + urls.news(a.key), a) for a in site.news_rss]
    items += [
        _article("news", "news-json", base + urls.news(a.key), a)
        for a in site.news_json
        if a.key not in rss_keys
    ]
    items += [_article("page", "google-alerts", base + urls.page(a.key), a) for a in site.pages]
    for t in site.topics:
        items += _topic(t, base)
    for sub, subs in site.reddit.items():
        items += [
            _article("reddit", f"reddit-{sub.lower()}", base + urls.reddit_item(sub, a), a)
            for a in subs
        ]
    return ExpectedSite(tuple(items))
