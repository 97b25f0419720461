"""The simulated web over real HTTP/1.1 on loopback: :class:`SampleWeb`.

Standard library only: a ``ThreadingHTTPServer`` (daemon threads) in a daemon thread.
Content routes (see :mod:`monitor.demo.sampleweb.routes`) are rendered from the site on every
request and answer conditional GETs (strong ``ETag`` = hash of the body, ``Last-Modified``
= when the content last changed; 304 on ``If-None-Match``, else on ``If-Modified-Since``).
``/bad/...`` routes misbehave on purpose (:mod:`monitor.demo.sampleweb.bad`).

:meth:`SampleWeb.stop` returns promptly: it sets an event every long-running route waits
on and shuts down every open connection, so a hanging or dripping response ends at once.

Usage::

    with SampleWeb() as web:
        httpx.get(web.base_url + "/blog/feed/")
        web.add_comment("tre-uger-uden-internet", "Ida", "Samme her.")
        web.publish_article("news-rss", "nyt", "Nyt", "Tekst.", published=datetime.now(UTC),
                            author="Redaktionen", lang="da")
        assert web.requests[-1].status == 200

Publishing methods (``publish_post``, ``publish_article``, ``open_topic``,
``reply_in_topic``, ``add_comment(published=...)``) take the time an item was published,
so a simulated clock can drive the site (the demo's day); see :mod:`monitor.demo.sampleweb.publish`.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.demo.sampleweb import content, publish, routes, social, urls
from monitor.demo.sampleweb.bad import BAD_ROUTES
from monitor.demo.sampleweb.expected import expected_site
from monitor.demo.sampleweb.model import (
    Article,
    BlogPost,
    ExpectedSite,
    ForumPost,
    RequestRecord,
    Resource,
)
from monitor.demo.sampleweb.pages import index_page

__all__ = ["SampleWeb"]

MAX_BODY = 64 * 1024  # a platform login's JSON; a larger POST is refused unread (405)


class SampleWeb:
    """A local web of blogs, feeds, a forum and Reddit listings, plus broken routes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 0) -> None:
        self.host = host
        self.port = port
        self.base_url = ""
        self.requests: list[RequestRecord] = []
        self.drip_interval = 0.5  # seconds between bytes of /bad/slow-drip.xml
        self.stopping = threading.Event()
        self._site = content.build_site(seed)
        self.accounts = social.Accounts()  # what the fake Bluesky and Trustpilot accept
        self._lock = threading.RLock()
        self._arrivals = threading.Condition(self._lock)
        self._started: list[str] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> str:
        """Serve in a background thread; return the base URL (no trailing slash)."""
        if self._server is not None:
            return self.base_url
        self.stopping.clear()
        server = _Server((self.host, self.port), _Handler)
        server.web = self
        self._server = server
        self.base_url = f"http://{self.host}:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and end every open connection; returns promptly."""
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> SampleWeb:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what the tests look at -----------------------------------------------------

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self.requests.append(entry)

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()
            self._started.clear()

    def arrived(self, path: str) -> None:
        """Called by the handler when a request starts (before any answer)."""
        with self._arrivals:
            self._started.append(urlsplit(path).path)
            self._arrivals.notify_all()

    def wait_for_request(self, path: str, timeout: float = 5.0) -> bool:
        """Block until a request for ``path`` (query ignored) has reached the server, even
        one that is never answered (``/bad/hang``); False on timeout. No polling."""
        with self._arrivals:
            return self._arrivals.wait_for(lambda: path in self._started, timeout)

    def expected(self) -> ExpectedSite:
        """Ground truth for the current content (after edits and new comments)."""
        with self._lock:
            return expected_site(self._site, self.base_url)

    def feeds(self) -> dict[str, tuple[str, str]]:
        """The well-behaved sources: name -> (crawler source kind, path)."""
        page = self._site.pages[0].key
        return {
            "blog": ("wordpress", urls.BLOG),
            "sv-blog": ("feed", urls.SV_BLOG_FEED),
            "news-rss": ("feed", urls.NEWS_RSS),
            "news-json": ("feed", urls.NEWS_JSON),
            "google-alerts": ("feed", urls.ALERTS),
            "forum": ("discourse", urls.FORUM),
            "reddit-denmark": ("reddit", urls.reddit_listing("Denmark", "rss")),
            "reddit-sweden": ("reddit", urls.reddit_listing("sweden", "json")),
            f"page-{page}": ("html", urls.page(page)),
        } | self._extra_subreddits()

    def platforms(self) -> dict[str, dict[str, Any]]:
        """The platform-API sources (name -> their ``[[sources]]`` keys, credentials
        included): the fake Bluesky PDS and Trustpilot review API. Not in :meth:`feeds`,
        whose sources need nothing but a kind and a URL."""
        accounts = self.accounts
        return {
            "bluesky": {"kind": "bluesky", "url": self.base_url + social.BSKY,
                        "terms": ["nordtel"], "identifier": accounts.identifier,
                        "app_password": accounts.app_password},
            "trustpilot": {"kind": "trustpilot", "url": self.base_url + social.TRUSTPILOT,
                           "business_unit": accounts.business_unit,
                           "api_key": accounts.api_key, "brand": "Nordtel"},
        }  # fmt: skip

    def _extra_subreddits(self) -> dict[str, tuple[str, str]]:
        """Subreddits added by :meth:`publish_article` (the built-in two are above)."""
        with self._lock:
            subs = [s for s in self._site.reddit if s not in ("Denmark", "sweden")]
        return {f"reddit-{s.lower()}": ("reddit", urls.reddit_listing(s, "json")) for s in subs}

    # --- changing the blog --------------------------------------------------------------

    def edit_post(self, slug: str, *, text: str | None = None, title: str | None = None) -> None:
        """Change a blog post in place (same URL and guid; new ETag and Last-Modified).
        ``text`` is plain text, paragraphs separated by blank lines."""
        if text is None and title is None:
            raise ValueError("edit_post needs text or title")
        with self._lock:
            post = self._site.post(slug)
            if text is not None:
                post.paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
            if title is not None:
                post.title = title
            post.modified = self._next_tick()

    def add_comment(
        self,
        slug: str,
        author: str,
        text: str,
        *,
        parent: int | None = None,
        lang: str = "da",
        published: datetime | None = None,
    ) -> int:
        """Add a comment to a blog post (a reply when ``parent`` is a comment id there),
        published at ``published`` or else one minute after the newest thing on the blog.
        Returns its id."""
        with self._lock:
            when = published or self._next_tick()
            return publish.add_comment(
                self._site, slug, author, text, when, parent=parent, lang=lang
            )

    # --- publishing at a given (simulated) time ------------------------------------------

    def publish_post(
        self,
        slug: str,
        title: str,
        text: str,
        *,
        published: datetime,
        author: str = "Jonas Riis",
        category: str = "Hverdag",
        lang: str = "da",
    ) -> None:
        """A new blog post (``text``: paragraphs separated by blank lines)."""
        paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
        with self._lock:
            post = BlogPost(
                slug, publish.next_wp_id(self._site), title, author, lang, category,
                paragraphs, published, published,
            )  # fmt: skip
            publish.add_post(self._site, post)

    def publish_article(
        self,
        feed: str,
        key: str,
        title: str,
        text: str,
        *,
        published: datetime,
        author: str,
        lang: str,
        slug: str = "",
        rating: int | None = None,
    ) -> None:
        """An article on ``feed``: ``sv-blog``, ``news-rss``, ``news-json``,
        ``google-alerts`` (an HTML page), ``reddit-<sub>`` (``slug`` required), ``bluesky``
        (a post) or ``trustpilot`` (a review: ``rating`` stars required)."""
        paragraphs = tuple(p.strip() for p in text.split("\n\n") if p.strip())
        article = Article(key, title, author, lang, paragraphs, published, slug=slug,
                          rating=rating)  # fmt: skip
        with self._lock:
            publish.add_article(self._site, feed, article)

    def open_topic(
        self, slug: str, title: str, username: str, text: str, *, published: datetime, lang: str
    ) -> int:
        """A new forum topic with its first post; returns the topic id."""
        first = ForumPost(1, username, text, published, lang)
        with self._lock:
            return publish.add_topic(self._site, slug, title, first)

    def reply_in_topic(
        self,
        topic_id: int,
        username: str,
        text: str,
        *,
        published: datetime,
        lang: str,
        reply_to: int | None = None,
    ) -> int:
        """A reply in a forum topic; returns its post number."""
        post = ForumPost(0, username, text, published, lang, reply_to)
        with self._lock:
            return publish.add_forum_post(self._site, topic_id, post)

    def _next_tick(self) -> datetime:
        return routes.site_modified(self._site) + timedelta(minutes=1)

    # --- rendering ------------------------------------------------------------------------

    def render(self, path: str, query: dict[str, list[str]]) -> Resource | None:
        with self._lock:
            if path == "/":
                return self._index()
            return routes.render(self._site, self.base_url, path, query)

    def platform(
        self, method: str, target: str, headers: dict[str, str], body: bytes = b""
    ) -> social.Reply | None:
        """A platform API's answer to a request, or None if ``target`` names none."""
        parts = urlsplit(target)
        with self._lock:
            return social.answer(
                self._site, self.accounts, method, parts.path, parse_qs(parts.query), headers,
                body,
            )  # fmt: skip

    def _index(self) -> Resource:
        sources = [(f"{name} ({kind})", path) for name, (kind, path) in self.feeds().items()]
        other = [("robots.txt", "/robots.txt"), ("private feed", urls.PRIVATE_FEED)]
        bad = [(name, f"/bad/{name}") for name in BAD_ROUTES]
        sections = [("Sources", sources), ("Other", other), ("Misbehaving", bad)]
        return index_page(sections, routes.site_modified(self._site))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    web: SampleWeb

    def __init__(self, address: tuple[str, int], handler: type[_Handler]) -> None:
        super().__init__(address, handler)
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    def track(self, conn: socket.socket, open_: bool) -> None:
        with self._conn_lock:
            if open_:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that goes away mid-response is normal here: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SampleWeb/1.0"
    timeout = 60  # idle keep-alive connections
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stalls
    server: _Server
    _status: int | None = None

    # --- plumbing --------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default stderr log; :attr:`SampleWeb.requests` records requests."""

    @property
    def stopping(self) -> threading.Event:
        return self.server.web.stopping

    @property
    def drip_interval(self) -> float:
        return self.server.web.drip_interval

    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def send_response(self, code: int, message: str | None = None) -> None:
        if self._status is None:
            self._status = code
            self._record(code)
        super().send_response(code, message)

    def _record(self, status: int) -> None:
        sent = getattr(self, "headers", None)  # absent when the request line was bad
        headers = {k.lower(): v for k, v in sent.items()} if sent else {}
        command, path = getattr(self, "command", None) or "", getattr(self, "path", "")
        self.server.web.record(RequestRecord(command, path, headers, status))

    def parse_request(self) -> bool:
        self._status = None
        return super().parse_request()

    # --- dispatch -----------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length", "0")
        small = length.isdigit() and int(length) <= MAX_BODY
        if small and social.is_platform_post(urlsplit(self.path).path):
            self._platform("POST", self.rfile.read(int(length)))
            return
        # The request body is never read, so the connection cannot be reused: say so
        # (``Connection: close``), or a keep-alive client sends its next request into a
        # socket being closed and loses it (seen once under load in CI).
        headers = {"Allow": "GET, HEAD", "Connection": "close"}
        self.simple(405, b"method not allowed\n", routes.TEXT, headers)

    def _platform(self, method: str, body: bytes = b"") -> bool:
        """Answer a platform API request; False if the path names no platform API."""
        sent = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.web.platform(method, self.path, sent, body)
        if reply is None:
            return False
        headers = {k: v for k, v in reply.headers.items() if k != "Content-Type"}
        self.simple(reply.status, reply.body, reply.headers.get("Content-Type"), headers)
        return True

    def _dispatch(self, head: bool) -> None:
        self.server.web.arrived(self.path)
        try:
            parts = urlsplit(self.path)
            if not head and self._platform("GET"):
                return
            if parts.path.startswith("/bad/"):
                self._bad(parts.path.removeprefix("/bad/"))
            else:
                self._content(parts.path, parse_qs(parts.query), head)
        finally:
            if self._status is None:
                self._record(0)

    def _bad(self, name: str) -> None:
        route = BAD_ROUTES.get(name)
        if route is None:
            self.simple(404, b"not found\n", routes.TEXT)
        else:
            route(self)

    def _content(self, path: str, query: dict[str, list[str]], head: bool) -> None:
        web = self.server.web
        resource = web.render(path, query)
        if resource is None and not path.endswith("/") and web.render(path + "/", query):
            self.simple(301, b"", routes.TEXT, {"Location": path + "/"})
            return
        if resource is None:
            self.simple(404, b"not found\n", routes.TEXT)
            return
        self._conditional(resource, head)

    def _conditional(self, resource: Resource, head: bool) -> None:
        etag = '"' + hashlib.sha256(resource.body).hexdigest()[:20] + '"'
        headers = {
            "ETag": etag,
            "Last-Modified": format_datetime(resource.modified, usegmt=True),
            "Cache-Control": "no-cache",
        }
        if self._not_modified(etag, resource.modified):
            self.simple(304, b"", None, headers)
        else:
            self.simple(200, resource.body, resource.content_type, headers, head=head)

    def _not_modified(self, etag: str, modified: datetime) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
            return "*" in tags or etag in tags
        since = self.headers.get("If-Modified-Since")
        if not since:
            return False
        try:
            return modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False

    def simple(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: dict[str, str] | None = None,
        *,
        head: bool = False,
    ) -> None:
        """A complete response with a Content-Length (none for a 304)."""
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and status != 304:
            self.wfile.write(body)
