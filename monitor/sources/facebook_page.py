"""Posts, visitor posts and comments on the company's own Facebook page, through the Graph
API with a Page access token (``token``, sent as ``Authorization: Bearer``; a Secret, never
in a URL): ``url`` is the versioned Graph root (``https://graph.facebook.com/v21.0``).

- ``GET {url}/{page_id}/feed?since=FLOOR`` (the page's posts and others' posts on it),
  newest first, 100 a page, following ``paging.next`` (on the Graph origin only; an
  ``access_token`` in it is dropped) or else ``paging.cursors.after``.
- ``GET {url}/{post_id}/comments?filter=stream&order=reverse_chronological`` for each post
  with activity since the mark (its ``updated_time`` moves when someone comments; a post
  never commented on is skipped): every comment and reply, newest first, down to the mark.
  Each is a follow-up request: a busy page may need a ``max_follow`` above the default
  (requests left over are read next pass, and the mark waits for them).

One stream, ``feed``; its mark is the newest ``updated_time`` of the last completed walk.
A walk reads the posts created since the mark (less an overlap) or in the last
``WINDOW`` days, whichever reaches further back, so a comment on a post of last week is
still found; posts and comments read twice are recognised by their URL. A comments page
that fails keeps the old mark (the crawler's rule for a failed follow-up), so those
comments are read next pass.

Rate limits: Graph throttles with a 400/403 carrying ``X-Business-Use-Case-Usage`` (or
``X-App-Usage`` / ``X-Page-Usage``); the wait it gives (``estimated_time_to_regain_access``)
is honoured and persisted like a Retry-After (``monitor.fetch.backoff.throttled_for``). An
invalid or expired token is a 400 (OAuthException code 190) or 401/403: "access refused".

URLs: a post is ``https://www.facebook.com/{post_id}``, a comment that URL with
``?comment_id={comment_id}``; a comment's thread is its post, its parent the comment it
answers or the post.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from monitor.parse.text import from_iso
from monitor.sources.api import (
    JSON_HEADERS,
    MAX_PAGES,
    ApiBase,
    Walk,
    as_dict,
    as_text,
    load_json,
)
from monitor.sources.base import Parsed, RawPost, Request

if TYPE_CHECKING:  # only annotations: keep pydantic and httpx out of the parse workers
    from monitor.fetch import Fetcher
    from monitor.settings import SourceSettings

POST_URL = "https://www.facebook.com/"
PAGE_SIZE = 100  # Graph's usual maximum for feed and comments
WINDOW = timedelta(days=3)  # posts this recent have their new comments read
OVERLAP = timedelta(minutes=10)
STREAM = "feed"
FEED_FIELDS = "id,message,story,created_time,updated_time,from,permalink_url"
COMMENT_FIELDS = "id,message,created_time,from,parent{id},permalink_url"


class FacebookPageAdapter(ApiBase):
    kind: ClassVar[str] = "facebook_page"
    refused: ClassVar[str] = (
        "the Page access token is invalid, expired or lacks pages_read_engagement / "
        "pages_read_user_content, or the page id is wrong"
    )
    refused_on: ClassVar[tuple[int, ...]] = (400, 401, 403)

    def resume(
        self, source: SourceSettings, marks: Mapping[str, str], now: datetime
    ) -> list[Request]:
        assert source.page_id is not None  # settings validation: facebook_page needs it
        mark = from_iso(marks.get(STREAM))
        floor = min(mark - OVERLAP, now - WINDOW) if mark else now - WINDOW
        query = {
            "fields": FEED_FIELDS,
            "limit": str(PAGE_SIZE),
            "since": str(int(floor.timestamp())),
        }
        url = f"{source.url.rstrip('/')}/{quote(source.page_id, safe='')}/feed?{urlencode(query)}"
        walk = Walk(STREAM, _iso(mark))
        return [Request(url, "index", cursor=walk.encode())]

    async def sign(self, source: SourceSettings, fetcher: Fetcher, now: datetime) -> dict[str, str]:
        assert source.token is not None  # settings validation: facebook_page needs it
        return {**JSON_HEADERS, "Authorization": f"Bearer {source.token.reveal()}"}

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed:
        doc = as_dict(load_json(body))
        found = doc.get("data")
        if not isinstance(found, list):
            return Parsed(warnings=["not a Graph API list answer (no data list)"], failed=True)
        walk = Walk.decode(request)
        if request.role == "comments":
            return _comments(request, walk, doc, found)
        return _feed(request, walk, doc, found)


# ---------------------------------------------------------------- the feed


def _feed(request: Request, walk: Walk, doc: dict[str, Any], found: list[Any]) -> Parsed:
    posts = [(as_text(as_dict(p).get("id")), as_dict(p)) for p in found]
    usable = [(pid, p) for pid, p in posts if pid and from_iso(p.get("created_time"))]
    created = [from_iso(p.get("created_time")) for _, p in usable]
    oldest = from_iso(walk.oldest)
    skipped = len(found) - len(usable)
    warnings = [f"{skipped} posts without an id or a date skipped"] if skipped else []
    if oldest is not None and any(at is not None and at > oldest for at in created):
        warnings.append("a page repeats newer posts: paging stopped")
        return _end(walk, [], warnings)
    updated = [t for t in (from_iso(p.get("updated_time")) for _, p in usable) if t]
    newest = max([*updated, *[t for t in (from_iso(walk.newest),) if t]], default=None)
    low = min([t for t in created if t is not None], default=oldest)
    seen = Walk(walk.stream, walk.mark, _iso(newest), _iso(low), walk.page + 1)
    base = request.url.split("?", 1)[0].rsplit("/", 2)[0]
    follow = [_comments_request(base, pid, seen) for pid, p in usable if _active(p, walk)]
    page = _next_page(request, doc, seen, warnings)
    out = [_post(pid, p) for pid, p in usable]
    if page is None:
        ended = _end(seen, out, warnings)
        ended.follow = follow
        return ended
    return Parsed(out, [page, *follow], warnings)  # the feed first: comments may run out


def _active(post: dict[str, Any], walk: Walk) -> bool:
    """Comments are read for a post commented on (Graph moves ``updated_time`` when someone
    comments or the post is edited) since the mark, or ever on a first walk."""
    mark, touched = from_iso(walk.mark), from_iso(post.get("updated_time"))
    if touched is None:
        return True  # no sign either way: read them
    if touched <= (from_iso(post.get("created_time")) or touched):
        return False  # never commented on
    return mark is None or touched >= mark - OVERLAP


def _comments_request(base: str, post_id: str, walk: Walk) -> Request:
    query = {"fields": COMMENT_FIELDS, "filter": "stream", "order": "reverse_chronological",
             "limit": str(PAGE_SIZE)}  # fmt: skip
    url = f"{base}/{quote(post_id, safe='')}/comments?{urlencode(query)}"
    after = Walk(walk.stream, walk.mark)  # the same stream: a failure keeps the old mark
    return Request(url, "comments", thread_url=POST_URL + post_id, cursor=after.encode())


def _post(post_id: str, post: dict[str, Any]) -> RawPost:
    url = POST_URL + post_id
    return RawPost(
        url=url,
        text=as_text(post.get("message")) or as_text(post.get("story")) or "",
        author=as_text(as_dict(post.get("from")).get("name")),
        published_at=from_iso(post.get("created_time")),
        external_id=post_id,
        thread_url=url,
    )


# ---------------------------------------------------------------- comments


def _comments(request: Request, walk: Walk, doc: dict[str, Any], found: list[Any]) -> Parsed:
    thread = request.thread_url or ""
    floor = from_iso(walk.mark)
    floor = floor - OVERLAP if floor else None
    dated = [(from_iso(as_dict(c).get("created_time")), as_dict(c)) for c in found]
    fresh = [c for at, c in dated if at is not None and (floor is None or at >= floor)]
    comments = [p for p in (_comment(c, thread) for c in fresh) if p is not None]
    warnings: list[str] = []
    oldest = from_iso(walk.oldest)
    times = [at for at, _ in dated if at is not None]
    if oldest is not None and any(at > oldest for at in times):
        warnings.append("a comments page repeats newer comments: paging stopped")
        return Parsed([], [], warnings)
    seen = Walk(walk.stream, walk.mark, None, _iso(min(times, default=oldest)), walk.page + 1)
    if len(fresh) < len(dated) or not dated:
        return Parsed(comments, [], warnings)
    page = _next_page(request, doc, seen, warnings)
    return Parsed(comments, [page] if page else [], warnings)


def _comment(comment: dict[str, Any], thread: str) -> RawPost | None:
    cid, text = as_text(comment.get("id")), as_text(comment.get("message"))
    if cid is None or text is None or not thread:
        return None
    parent = as_text(as_dict(comment.get("parent")).get("id"))
    return RawPost(
        url=_comment_url(thread, cid),
        text=text,
        author=as_text(as_dict(comment.get("from")).get("name")),
        published_at=from_iso(comment.get("created_time")),
        external_id=cid,
        thread_url=thread,
        parent_url=_comment_url(thread, parent) if parent else thread,
    )


def _comment_url(thread: str, comment_id: str) -> str:
    return f"{thread}?{urlencode({'comment_id': comment_id})}"


# ---------------------------------------------------------------- paging


def _next_page(
    request: Request, doc: dict[str, Any], walk: Walk, warnings: list[str]
) -> Request | None:
    """``paging.next`` on the same origin (without any access_token), else the request
    with ``after=paging.cursors.after``; None at the end or past ``MAX_PAGES``."""
    paging = as_dict(doc.get("paging"))
    after = as_text(as_dict(paging.get("cursors")).get("after"))
    link = as_text(paging.get("next"))
    if link is None:
        return None  # Graph leaves "next" out on the last page, even with cursors
    if walk.page > MAX_PAGES:
        warnings.append(f"more than {MAX_PAGES} pages; the oldest skipped")
        return None
    here, there = urlsplit(request.url), urlsplit(link)
    if (there.scheme, there.netloc) == (here.scheme, here.netloc):
        query = [(k, v) for k, v in parse_qsl(there.query) if k != "access_token"]
        url = there._replace(query=urlencode(query)).geturl()
    elif after:
        query = [(k, v) for k, v in parse_qsl(here.query) if k != "after"]
        url = here._replace(query=urlencode([*query, ("after", after)])).geturl()
    else:
        warnings.append("the next page is on another origin: paging stopped")
        return None
    return Request(url, request.role if request.role == "comments" else "page",
                   request.thread_url, cursor=walk.encode())  # fmt: skip


def _end(walk: Walk, posts: list[RawPost], warnings: list[str]) -> Parsed:
    newest = walk.newest or walk.mark
    return Parsed(posts, [], warnings, marks={walk.stream: newest} if newest else {})


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()
