"""YouTube comments, through the YouTube Data API v3 with an API key (``api_key``, sent in
the ``X-goog-api-key`` header, never in a URL): ``url`` is the API root
(``https://www.googleapis.com/youtube/v3``).

- **A channel** (``channel_id``): ``commentThreads.list`` with
  ``allThreadsRelatedToChannelId``, ``order=time``, 100 threads a page, newest first,
  ``pageToken`` = the previous page's ``nextPageToken``. The stream's mark is the newest
  top-level comment's ``publishedAt`` of the last completed walk; a walk stops at the
  first thread older than the mark (minus an overlap; the ones read twice are recognised
  by their URL in the store). The replies the thread carries come with it.
- **Videos matching terms** (``terms``): ``search.list`` (``type=video``,
  ``order=date``, videos published in the last ``WATCH_DAYS``); each video found is a
  post (title and description) and its newest 100 comment threads are read, one
  ``commentThreads.list`` by ``videoId`` each. No mark: a video is watched for
  ``WATCH_DAYS`` after it was published and comments read again are recognised by URL.

**Quota.** Every call costs units from the project's daily quota (10,000 by default,
reset at midnight Pacific time): ``commentThreads.list`` 1, ``search.list`` 100 (the
documented figures; ``cost``). The crawler adds them up per source and day and source
health shows the sum, so a term search every 15 minutes (9,600 units a day) is visible
before YouTube refuses with 403 ``quotaExceeded``.

A comment's URL is its video's with ``&lc=<comment id>`` (YouTube's link to a comment).
A thread is YouTube's comment thread: the top-level comment and its replies (a reply
that names no brand inherits the top-level comment's); a video found by search is a post
of its own.
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

VIDEO_URL = "https://www.youtube.com/watch?v="
THREADS_PAGE = 100  # the documented maximum of commentThreads.list
SEARCH_PAGE = 50  # the documented maximum of search.list
SEARCH_PAGES = 2  # 100 quota units a page: a pass reads at most 100 new videos per term
WATCH_DAYS = 3  # a video found by a term search has its comments read this long
OVERLAP = timedelta(minutes=10)
_RFC3339 = "%Y-%m-%dT%H:%M:%SZ"
COSTS = {"search": 100, "commentThreads": 1}  # quota units per call, as documented


class YouTubeAdapter(ApiBase):
    kind: ClassVar[str] = "youtube"
    refused: ClassVar[str] = "the API key is refused or the day's quota is spent"

    def resume(
        self, source: SourceSettings, marks: Mapping[str, str], now: datetime
    ) -> list[Request]:
        base = source.url.rstrip("/")
        requests = []
        if source.channel_id:
            stream = f"ch:{source.channel_id}"
            query = {"allThreadsRelatedToChannelId": source.channel_id, **_THREADS}
            walk = Walk(stream, marks.get(stream))
            requests.append(Request(f"{base}/commentThreads?{urlencode(query)}", "index",
                                    cursor=walk.encode()))  # fmt: skip
        after = (now - timedelta(days=WATCH_DAYS)).astimezone(UTC).strftime(_RFC3339)
        for term in source.terms:
            query = {"part": "snippet", "q": term, "type": "video", "order": "date",
                     "maxResults": str(SEARCH_PAGE), "publishedAfter": after}  # fmt: skip
            walk = Walk(f"q:{term}")
            requests.append(Request(f"{base}/search?{urlencode(query)}", "index",
                                    cursor=walk.encode()))  # fmt: skip
        return requests

    async def sign(self, source: SourceSettings, fetcher: Fetcher, now: datetime) -> dict[str, str]:
        assert source.api_key is not None  # settings validation: youtube needs it
        return {**JSON_HEADERS, "X-goog-api-key": source.api_key.reveal()}

    def cost(self, request: Request) -> int:
        return COSTS.get(urlsplit(request.url).path.rstrip("/").rsplit("/", 1)[-1], 1)

    def parse(self, request: Request, body: bytes, headers: Mapping[str, str]) -> Parsed:
        doc = as_dict(load_json(body))
        items = doc.get("items")
        if not isinstance(items, list):
            return Parsed(warnings=["not a YouTube list answer (no items list)"], failed=True)
        walk = Walk.decode(request)
        if urlsplit(request.url).path.endswith("/search"):
            return _videos(request, walk, doc, items)
        return _threads(request, walk, doc, items)


_THREADS = {"part": "snippet,replies", "order": "time", "textFormat": "plainText",
            "maxResults": str(THREADS_PAGE)}  # fmt: skip


# ---------------------------------------------------------------- search.list


def _videos(request: Request, walk: Walk, doc: dict[str, Any], items: list[Any]) -> Parsed:
    """The videos found are posts; each one's comment threads are read next. The next
    search page is read too (100 units each: up to ``MAX_PAGES``)."""
    found = [(vid, as_dict(as_dict(i).get("snippet"))) for vid, i in _video_ids(items)]
    posts = [_video_post(vid, snippet) for vid, snippet in found]
    base = request.url.split("/search?", 1)[0]
    follow = [
        Request(f"{base}/commentThreads?{urlencode({'videoId': vid, **_THREADS})}", "video",
                thread_url=VIDEO_URL + quote(vid, safe=""), cursor=Walk(f"v:{vid}").encode())
        for vid, _ in found
    ]  # fmt: skip
    skipped = len(items) - len(found)
    warnings = [f"{skipped} search results without a video id skipped"] if skipped else []
    after = Walk(walk.stream, page=walk.page + 1)
    page = _next_page(request, after, doc, warnings, "search results", SEARCH_PAGES)
    return Parsed(posts, follow + page, warnings)


def _video_ids(items: list[Any]) -> list[tuple[str, Any]]:
    ids = [(as_text(as_dict(as_dict(i).get("id")).get("videoId")), i) for i in items]
    return [(vid, i) for vid, i in ids if vid is not None]


def _video_post(vid: str, snippet: dict[str, Any]) -> RawPost:
    url = VIDEO_URL + quote(vid, safe="")
    return RawPost(
        url=url,
        text=as_text(snippet.get("description")) or "",
        title=as_text(snippet.get("title")),
        author=as_text(snippet.get("channelTitle")),
        published_at=from_iso(snippet.get("publishedAt")),
        external_id=vid,
        thread_url=url,
    )


# ---------------------------------------------------------------- commentThreads.list


def _threads(request: Request, walk: Walk, doc: dict[str, Any], items: list[Any]) -> Parsed:
    dated = [(at, t) for at, t in ((_thread_time(t), as_dict(t)) for t in items) if at]
    mark, oldest = from_iso(walk.mark), from_iso(walk.oldest)
    warnings = _skipped(len(items) - len(dated))
    if oldest is not None and any(at > oldest for at, _ in dated):
        warnings.append("a page repeats newer comments: paging stopped")
        return _end(walk, [], warnings)
    floor = mark - OVERLAP if mark else None
    fresh = [t for at, t in dated if floor is None or at >= floor]
    posts = [p for t in fresh for p in _thread_posts(t)]
    times = [at for at, _ in dated]
    newest = max([*times, *[t for t in (from_iso(walk.newest),) if t]], default=None)
    seen = Walk(walk.stream, walk.mark, _iso(newest), _iso(min(times, default=oldest)),
                walk.page + 1)  # fmt: skip
    if request.role == "video" or len(fresh) < len(dated) or not dated:
        return _end(seen, posts, warnings, request.role != "video")
    page = _next_page(request, seen, doc, warnings, "comment threads", MAX_PAGES)
    return _end(seen, posts, warnings) if not page else Parsed(posts, page, warnings)


def _thread_time(thread: object) -> datetime | None:
    top = as_dict(as_dict(as_dict(thread).get("snippet")).get("topLevelComment"))
    return from_iso(as_dict(top.get("snippet")).get("publishedAt")) if top.get("id") else None


def _thread_posts(thread: dict[str, Any]) -> list[RawPost]:
    snippet = as_dict(thread.get("snippet"))
    top = as_dict(snippet.get("topLevelComment"))
    vid = as_text(snippet.get("videoId")) or as_text(as_dict(top.get("snippet")).get("videoId"))
    if vid is None:
        return []
    video = VIDEO_URL + quote(vid, safe="")
    first = _comment(top, video, None)
    if first is None:
        return []
    replies = as_dict(thread.get("replies")).get("comments")
    answers = [_comment(as_dict(r), video, first.url)
               for r in (replies if isinstance(replies, list) else [])]  # fmt: skip
    return [p for p in (first, *answers) if p is not None]


def _comment(comment: dict[str, Any], video: str, root: str | None) -> RawPost | None:
    """A top-level comment (``root`` None: it starts its thread) or a reply in ``root``."""
    cid = as_text(comment.get("id"))
    snippet = as_dict(comment.get("snippet"))
    text = as_text(snippet.get("textOriginal")) or as_text(snippet.get("textDisplay"))
    if cid is None or text is None:
        return None
    url = f"{video}&lc={quote(cid, safe='')}"
    return RawPost(
        url=url,
        text=text,
        author=as_text(snippet.get("authorDisplayName")),
        published_at=from_iso(snippet.get("publishedAt")),
        updated_at=from_iso(snippet.get("updatedAt")),
        external_id=cid,
        thread_url=root or url,
        parent_url=root,
    )


# ---------------------------------------------------------------- paging


def _next_page(
    request: Request, walk: Walk, doc: dict[str, Any], warnings: list[str], what: str, most: int
) -> list[Request]:
    """The page after this one by ``nextPageToken`` (``walk`` is the state it carries);
    none at the end, on a token that repeats the one just used, or past ``most`` pages."""
    token = as_text(doc.get("nextPageToken"))
    parts = urlsplit(request.url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "pageToken"]
    if token is None:
        return []
    if token == dict(parse_qsl(parts.query)).get("pageToken"):
        warnings.append("the page token repeats: paging stopped")
        return []
    if walk.page > most:
        warnings.append(f"more than {most} pages of {what}; the oldest skipped")
        return []
    url = parts._replace(query=urlencode([*query, ("pageToken", token)])).geturl()
    return [Request(url, "page", request.thread_url, cursor=walk.encode())]


def _end(walk: Walk, posts: list[RawPost], warnings: list[str], mark: bool = True) -> Parsed:
    newest = walk.newest or walk.mark
    marks = {walk.stream: newest} if mark and newest else {}
    return Parsed(posts, [], warnings, marks=marks)


def _skipped(count: int) -> list[str]:
    return [f"{count} comment threads without an id or a date skipped"] if count else []


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime(_RFC3339)
