"""HTML pages of the simulated web: articles wrapped in realistic boilerplate (navigation,
cookie banner, related links, footer) so a main-text extractor has work to do, WordPress
post pages with a threaded comment section, and the index at ``/``.

Every piece of content is escaped: the page text is data, never markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape

from monitor.demo.sampleweb.feeds import iso, paragraphs_html
from monitor.demo.sampleweb.model import Article, BlogPost, Comment, Resource, Topic

HTML = "text/html; charset=utf-8"

_NAV = (
    '<header class="site-header"><a class="logo" href="/">Forside</a>\n<nav><ul>'
    '<li><a href="/news/">Nyheder</a></li><li><a href="/blog/">Blog</a></li>'
    '<li><a href="/forum/">Forum</a></li><li><a href="/om/">Om os</a></li>'
    '<li><a href="/kontakt/">Kontakt</a></li></ul></nav></header>'
)
_COOKIES = (
    '<div id="cookie-banner" class="cookie-consent" role="dialog">'
    "<p>Vi bruger cookies til statistik og til at huske dine valg. Læs mere i vores "
    '<a href="/cookies/">cookiepolitik</a>.</p>'
    '<button type="button">Accepter alle</button><button type="button">Kun nødvendige</button>'
    "</div>"
)
_FOOTER = (
    '<footer class="site-footer"><p>© 2026 Nordisk Medie ApS · CVR 12345678 · '
    '<a href="/privatliv/">Privatlivspolitik</a> · <a href="/abonnement/">Abonnement</a></p>'
    '<p><a href="/rss/">RSS</a> · <a href="/nyhedsbrev/">Tilmeld nyhedsbrev</a></p></footer>'
)
_RELATED = (
    '<aside class="related"><h2>Læs også</h2><ul>'
    '<li><a href="/pages/forbrugertest-ventetid.html">Så længe venter du i telefonkø</a></li>'
    '<li><a href="/news/mastelov-vedtaget/">Ny lov om mobilmaster</a></li>'
    '<li><a href="/">Flere historier</a></li></ul></aside>'
)


def document(title: str, lang: str, main: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta property="og:title" content="{escape(title)}">\n</head>\n<body>\n'
        f"{_COOKIES}\n{_NAV}\n<main>\n{main}\n</main>\n{_FOOTER}\n</body>\n</html>\n"
    )


def _byline(author: str, published: datetime) -> str:
    return (
        f'<p class="byline">Af <span class="author">{escape(author)}</span>, '
        f'<time datetime="{iso(published)}">{published:%d.%m.%Y %H:%M}</time></p>'
    )


def article_page(a: Article) -> Resource:
    main = (
        f'<article class="post">\n<h1>{escape(a.title)}</h1>\n{_byline(a.author, a.published)}\n'
        f'<div class="entry-content">\n{paragraphs_html(a.paragraphs)}\n</div>\n'
        f'<div class="share">Del: <a href="#">Facebook</a> <a href="#">LinkedIn</a></div>\n'
        f"</article>\n{_RELATED}"
    )
    return Resource(document(a.title, a.lang, main).encode(), HTML, a.published)


def blog_page(post: BlogPost, modified: datetime) -> Resource:
    main = (
        f'<article class="post type-post">\n<h1 class="entry-title">{escape(post.title)}</h1>\n'
        f"{_byline(post.author, post.published)}\n"
        f'<div class="entry-content">\n{paragraphs_html(post.paragraphs)}\n</div>\n</article>\n'
        f'<section id="comments" class="comments-area">\n'
        f'<h2 class="comments-title">{len(post.comments)} kommentarer</h2>\n'
        f"{_comment_list(post.comments, None)}\n"
        '<div id="respond"><h3>Skriv en kommentar</h3><form method="post" action="#">'
        '<textarea name="comment"></textarea><button>Send</button></form></div>\n</section>'
    )
    return Resource(document(post.title, post.lang, main).encode(), HTML, modified)


def _comment_list(comments: list[Comment], parent: int | None) -> str:
    children = [c for c in comments if c.parent == parent]
    if not children:
        return ""
    css = "comment-list" if parent is None else "children"
    inner = "\n".join(_comment_li(c, comments) for c in children)
    return f'<ol class="{css}">\n{inner}\n</ol>'


def _comment_li(c: Comment, comments: list[Comment]) -> str:
    return (
        f'<li id="comment-{c.id}" class="comment">\n<article class="comment-body">\n'
        f'<footer class="comment-meta"><b class="fn">{escape(c.author)}</b> '
        f'<time datetime="{iso(c.published)}">{c.published:%d.%m.%Y kl. %H:%M}</time>'
        f'</footer>\n<div class="comment-content" lang="{escape(c.lang)}">'
        f"{paragraphs_html([c.text])}</div>\n"
        f'<a class="comment-reply-link" href="?replytocom={c.id}#respond">Svar</a>\n'
        f"</article>\n{_comment_list(comments, c.id)}\n</li>"
    )


def topic_page(topic: Topic) -> Resource:
    posts = "\n".join(
        f'<div class="topic-post" id="post_{p.number}"><span class="username">'
        f"{escape(p.username)}</span>{paragraphs_html([p.text])}</div>"
        for p in topic.posts
    )
    main = f"<h1>{escape(topic.title)}</h1>\n{posts}"
    modified = max(p.published for p in topic.posts)
    return Resource(document(topic.title, "da", main).encode(), HTML, modified)


def index_page(sections: Iterable[tuple[str, list[tuple[str, str]]]], now: datetime) -> Resource:
    """The listing at ``/``: ``sections`` of ``(label, path)`` links."""
    parts = []
    for heading, links in sections:
        items = "".join(
            f'<li><a href="{escape(path)}">{escape(label)}</a> <code>{escape(path)}</code></li>'
            for label, path in links
        )
        parts.append(f"<h2>{escape(heading)}</h2>\n<ul>{items}</ul>")
    main = "<h1>Stormwatch sample web</h1>\n" + "\n".join(parts)
    return Resource(document("Stormwatch sample web", "en", main).encode(), HTML, now)
