"""monitor.fetch against real HTTP servers on loopback (tests/support/servers/httpservers.py).

127.0.0.1 (and 127.0.0.3 as a second host) are allow-listed; 127.0.0.2 plays the
address outside the allow-list. No test sleeps: slow servers are slow on their side and
tests measure how long the fetch took.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import ssl
import time
import tracemalloc
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpcore
import httpx
import pytest

from monitor.errors import FetchError, URLRefused
from monitor.fetch import (
    Conditional,
    Fetched,
    Fetcher,
    FetchPolicy,
    transport,
)
from monitor.fetch.gate import UrlGate
from monitor.fetch.transport import guarded_transport as _connections
from tests.support.paths import REPO
from tests.support.servers import httpservers as hs

T = TypeVar("T")
LOOPBACK = UrlGate(allowed_hosts=frozenset({"127.0.0.1", "127.0.0.3"}))
POLICY = FetchPolicy(min_host_interval=0.0, gate=LOOPBACK, deadline=5.0)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def fetch_once(url: str, policy: FetchPolicy = POLICY, **kwargs: Any) -> Fetched:
    async with Fetcher(policy) as fetcher:
        return await fetcher.fetch(url, **kwargs)


def fetch_error(url: str, policy: FetchPolicy = POLICY, **kwargs: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        run(fetch_once(url, policy, **kwargs))
    return caught.value


def raw_request(url: str) -> httpcore.Request:
    """A GET straight to the connections, past the fetcher's own checks."""
    return httpcore.Request("GET", url, headers=[("Host", httpx.URL(url).netloc)])


@pytest.fixture(autouse=True, params=transport.POOLS)
def pool(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The contract: every test here runs on each connection pool the transport offers."""
    monkeypatch.setattr(transport, "DEFAULT_POOL", request.param)
    return str(request.param)


@pytest.fixture
def server():
    with hs.serve("127.0.0.1") as srv:
        yield srv


@pytest.fixture
def outsider():
    """A server on 127.0.0.2: outside the allow-list; it must never see a connection."""
    with hs.serve("127.0.0.2", {"/": hs.text(b"secret intranet")}) as srv:
        yield srv


# ---------------------------------------------------------------- plain answers


def test_get_returns_body_headers_and_sends_user_agent(server):
    server.routes["/feed"] = hs.text(b"<rss/>", 200, {"ETag": '"v1"', "X-Thing": "A"})
    got = run(fetch_once(server.url("/feed")))
    assert (got.status, got.body, got.final_url) == (200, b"<rss/>", server.url("/feed"))
    assert got.headers["x-thing"] == "A"
    assert got.etag == '"v1"'
    assert not got.not_modified
    assert server.log.paths() == ["/robots.txt", "/feed"]
    agents = {seen.headers["user-agent"] for seen in server.log.requests}
    assert agents == {POLICY.user_agent}


def test_requests_carry_host_and_no_cookies_a_site_set(server):
    """No cookie jar: a cookie one answer sets does not follow us to the next request."""
    server.routes["/a"] = hs.text(b"a", 200, {"Set-Cookie": "visitor=tracked; Path=/"})
    server.routes["/b"] = hs.text(b"b")

    async def both() -> None:
        async with Fetcher(POLICY) as fetcher:
            await fetcher.fetch(server.url("/a"))
            await fetcher.fetch(server.url("/b"))

    run(both())
    sent = {seen.path: seen.headers for seen in server.log.requests}
    assert sent["/b"]["host"] == f"127.0.0.1:{server.port}"
    assert "cookie" not in sent["/b"]
    assert sent["/b"]["accept-encoding"] == "gzip, deflate"


def test_other_2xx_statuses_are_answers(server):
    server.routes["/partial"] = hs.text(b"meta", 203)
    assert run(fetch_once(server.url("/partial"))).status == 203


def test_gzip_body_is_decoded_and_headers_describe_the_decoded_body(server):
    server.routes["/z"] = hs.compressed(b"hello " * 1000, "gzip")
    server.routes["/d"] = hs.compressed(b"deflated " * 100, "deflate")
    got = run(fetch_once(server.url("/z")))
    assert got.body == b"hello " * 1000
    assert "content-encoding" not in got.headers
    assert run(fetch_once(server.url("/d"))).body == b"deflated " * 100


def test_conditional_get_sends_validators_and_reads_304(server):
    lm = "Wed, 01 Jan 2025 00:00:00 GMT"
    server.routes["/c"] = hs.conditional('"e1"', lm, b"full body")
    first = run(fetch_once(server.url("/c")))
    assert first.status == 200
    assert first.last_modified == lm
    by_etag = run(fetch_once(server.url("/c"), conditional=Conditional(etag='"e1"')))
    by_date = run(fetch_once(server.url("/c"), conditional=Conditional(last_modified=lm)))
    for got in (by_etag, by_date):
        assert got.not_modified
        assert got.status == 304
        assert got.body == b""
    assert by_date.last_modified == lm  # the 304 omitted validators: ours are kept
    sent = [s.headers for s in server.log.requests if s.path == "/c"]
    assert sent[1]["if-none-match"] == '"e1"'
    assert sent[2]["if-modified-since"] == lm


# ---------------------------------------------------------------- statuses


def test_429_and_503_are_rate_limited_with_retry_after(server):
    server.routes["/busy"] = hs.text(b"", 429, {"Retry-After": "120"})
    server.routes["/down"] = hs.text(b"", 503, {"Retry-After": "Wed, 01 Jan 2025 00:10:00 GMT"})
    busy = fetch_error(server.url("/busy"))
    assert (busy.kind, busy.status, busy.retry_after) == ("rate_limited", 429, 120.0)

    async def down() -> None:
        now = datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
        async with Fetcher(POLICY, now=lambda: now) as fetcher:
            await fetcher.fetch(server.url("/down"))

    with pytest.raises(FetchError) as caught:
        run(down())
    assert (caught.value.kind, caught.value.retry_after) == ("rate_limited", 600.0)


@pytest.mark.parametrize("status", [400, 403, 404, 410, 500, 502])
def test_other_error_statuses_are_http_status(server, status):
    server.routes["/x"] = hs.text(b"no", status)
    error = fetch_error(server.url("/x"))
    assert (error.kind, error.status) == ("http_status", status)
    assert server.url("/x") in str(error)


# ---------------------------------------------------------------- redirects


def test_relative_redirects_are_followed(server):
    server.routes["/old"] = hs.redirect("new?x=1", 301)
    server.routes["/new"] = hs.redirect("/final", 307)
    server.routes["/final"] = hs.text(b"here")
    got = run(fetch_once(server.url("/old")))
    assert got.body == b"here"
    assert got.final_url == server.url("/final")
    assert got.url == server.url("/old")


def test_redirect_loop_and_too_many_hops(server):
    server.routes["/a"] = hs.redirect("/b")
    server.routes["/b"] = hs.redirect("/a")
    for i in range(8):
        server.routes[f"/hop{i}"] = hs.redirect(f"/hop{i + 1}")
    assert fetch_error(server.url("/a")).kind == "redirect"
    error = fetch_error(server.url("/hop0"))
    assert error.kind == "redirect"
    assert str(error).endswith("/hop6: more than 5 redirects")
    server.routes["/nowhere"] = hs.text(b"", 302)
    assert fetch_error(server.url("/nowhere")).kind == "redirect"


def test_redirect_target_is_checked_by_robots(server):
    server.routes["/robots.txt"] = hs.text(b"User-agent: *\nDisallow: /private\n")
    server.routes["/start"] = hs.redirect("/private/page")
    assert fetch_error(server.url("/start")).kind == "robots"
    assert "/private/page" not in server.log.paths()


# ---------------------------------------------------------------- the gate at connect time


def test_direct_url_outside_allow_list_makes_no_connection(outsider):
    error = fetch_error(outsider.url("/"))
    assert isinstance(error, URLRefused)
    assert error.kind == "refused"
    assert str(error).startswith(outsider.url("/") + ": ")
    assert outsider.log.connections == 0


def test_redirect_to_outside_allow_list_makes_no_connection(server, outsider):
    server.routes["/jump"] = hs.redirect(outsider.url("/"))
    assert isinstance(fetch_error(server.url("/jump")), URLRefused)
    assert outsider.log.connections == 0


def test_guarded_pool_refuses_even_without_check_url(outsider):
    async def raw_get() -> None:
        await _connections(LOOPBACK).send(raw_request(outsider.url("/")))

    with pytest.raises(URLRefused):
        run(raw_get())
    assert outsider.log.connections == 0


def test_host_name_resolving_to_loopback_is_refused_unless_allowed(server):
    server.routes["/hi"] = hs.text(b"hi")
    url = server.url("/hi", host="localhost")
    assert isinstance(fetch_error(url), URLRefused)
    assert server.log.connections == 0
    by_name = FetchPolicy(min_host_interval=0, gate=UrlGate(allowed_hosts=frozenset({"localhost"})))
    assert run(fetch_once(url, by_name)).body == b"hi"


class _Recorder(httpcore.AsyncNetworkBackend):
    """Inner backend that records where it was asked to dial and which SNI name TLS got."""

    def __init__(self) -> None:
        self.dialled: list[str] = []
        self.sni: list[str | None] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.dialled.append(host)
        recorder = self

        class Stream(httpcore.AsyncNetworkStream):
            async def start_tls(
                self, ssl_context: Any, server_hostname: Any = None, timeout: Any = None
            ) -> Any:
                recorder.sni.append(server_hostname)
                raise httpcore.ConnectError("stop before any TLS bytes")

            async def aclose(self) -> None:
                pass

        return Stream()


def test_tls_uses_the_host_name_while_dialling_the_checked_address():
    recorder = _Recorder()
    gate = UrlGate(allowed_hosts=frozenset({"localhost"}))

    async def get() -> None:
        await _connections(gate, recorder).send(raw_request("https://localhost:8443/"))

    with pytest.raises(httpcore.ConnectError):
        run(get())
    assert recorder.dialled == ["127.0.0.1"]
    assert recorder.sni == ["localhost"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed: no certificate for the TLS tests")
    return hs.self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    names: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    with hs.serve("127.0.0.1", tls=context) as srv:
        srv.sni = names  # type: ignore[attr-defined]
        yield srv


def test_https_is_fetched_over_tls_with_the_host_name_for_sni_and_certificate(
    tls_server, certificate
):
    tls_server.routes["/feed"] = hs.text(b"<rss/>" * 20_000)  # several TLS records
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    policy = FetchPolicy(
        min_host_interval=0, gate=UrlGate(allowed_hosts=frozenset({"localhost"})), deadline=5.0
    )

    async def twice() -> list[Fetched]:
        async with Fetcher(policy, ssl_context=trusted) as fetcher:
            url = tls_server.url("/feed", host="localhost")
            return [await fetcher.fetch(url, respect_robots=False) for _ in range(2)]

    answers = run(twice())
    assert [a.body for a in answers] == [b"<rss/>" * 20_000] * 2
    assert tls_server.sni == ["localhost"], "one TLS connection, kept alive, named by SNI"
    assert tls_server.log.connections == 1


def test_a_host_shares_one_kept_alive_connection_until_the_server_closes_it(server):
    server.routes["/a"] = hs.text(b"a")
    server.routes["/last"] = hs.text(b"last", headers={"Connection": "close"})
    paths = ["/a", "/a", "/last", "/a", "/a"]

    async def in_turn() -> list[bytes]:
        async with Fetcher(FetchPolicy(min_host_interval=0, gate=LOOPBACK)) as fetcher:
            return [(await fetcher.fetch(server.url(p), respect_robots=False)).body for p in paths]

    assert run(in_turn()) == [b"a", b"a", b"last", b"a", b"a"]
    assert server.log.connections == 2, "reused while open, a new one after Connection: close"


def test_an_untrusted_certificate_is_a_connect_error_and_no_request(tls_server):
    tls_server.routes["/feed"] = hs.text(b"never sent")
    policy = FetchPolicy(
        min_host_interval=0, gate=UrlGate(allowed_hosts=frozenset({"localhost"})), deadline=5.0
    )
    error = fetch_error(tls_server.url("/feed", host="localhost"), policy, respect_robots=False)
    assert error.kind == "connect"
    assert "certificate" in str(error).lower()
    assert "\n" not in str(error)
    assert tls_server.log.paths() == []


def test_connection_refused_is_connect_error_naming_the_url():
    url = f"http://127.0.0.1:{hs.closed_port()}/feed?token=SECRET123"
    error = fetch_error(url, respect_robots=False)
    assert error.kind == "connect"
    assert "127.0.0.1" in str(error)
    assert "SECRET123" not in str(error)
    assert "\n" not in str(error)


# ---------------------------------------------------------------- deadline and size


@pytest.mark.parametrize("route", [hs.never_answer, hs.slow_drip])
def test_overall_deadline_ends_hung_and_dripping_servers(server, route):
    server.routes["/slow"] = route
    policy = FetchPolicy(min_host_interval=0, gate=LOOPBACK, deadline=1.0, read_timeout=10.0)
    started = time.monotonic()
    error = fetch_error(server.url("/slow"), policy)
    elapsed = time.monotonic() - started
    assert error.kind == "timeout"
    assert server.url("/slow") in str(error)
    assert 0.9 <= elapsed < 1.0 + 1.5


def test_body_over_cap_is_too_large(server):
    server.routes["/big"] = hs.text(b"x" * 200_000)
    policy = FetchPolicy(min_host_interval=0, gate=LOOPBACK, max_bytes=100_000)
    assert fetch_error(server.url("/big"), policy).kind == "too_large"


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return hs.gzip_zeros(100 * 1024 * 1024)  # ~100 KB on the wire


def test_gzip_bomb_is_stopped_early_with_bounded_memory(server, bomb):
    assert len(bomb) < 200_000
    server.routes["/bomb"] = lambda h: h.reply(200, bomb, {"Content-Encoding": "gzip"})
    policy = FetchPolicy(min_host_interval=0, gate=LOOPBACK, max_bytes=1024 * 1024)
    tracemalloc.start()
    try:
        error = fetch_error(server.url("/bomb"), policy)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert error.kind == "too_large"
    assert peak < 8 * 1024 * 1024, peak


def test_stacked_encodings_are_refused_not_inflated(server):
    server.routes["/double"] = hs.compressed(b"a" * 1000, "gzip, gzip")
    server.routes["/br"] = hs.text(b"??", 200, {"Content-Encoding": "br"})
    assert fetch_error(server.url("/double")).kind == "protocol"
    assert fetch_error(server.url("/br")).kind == "protocol"


# ---------------------------------------------------------------- broken servers


@pytest.mark.parametrize(
    "route",
    [
        hs.close_mid_body,
        hs.garbage,
        hs.text(b"not gzip at all", 200, {"Content-Encoding": "gzip"}),
        hs.text(hs.gzip_bytes(b"x" * 5000)[:-30], 200, {"Content-Encoding": "gzip"}),
    ],
    ids=["close-mid-body", "garbage", "bad-gzip", "truncated-gzip"],
)
def test_broken_servers_are_protocol_errors_with_one_line(server, route):
    server.routes["/broken"] = route
    error = fetch_error(server.url("/broken?api_key=HUSH"), respect_robots=False)
    assert type(error) is FetchError, error
    assert error.kind == "protocol", error
    assert server.url("/broken") in str(error)
    assert "\n" not in str(error)
    assert "HUSH" not in str(error)
    assert POLICY.user_agent not in str(error)


# ---------------------------------------------------------------- robots.txt


def test_robots_is_fetched_once_and_refreshed_after_ttl(server):
    server.routes["/robots.txt"] = hs.text(b"User-agent: Stormwatch\nDisallow: /no\n")
    server.routes["/yes"] = hs.text(b"ok")
    clock = [1000.0]
    policy = FetchPolicy(min_host_interval=0, gate=LOOPBACK, robots_ttl=60)

    async def scenario() -> FetchError:
        async with Fetcher(policy, monotonic=lambda: clock[0]) as fetcher:
            await fetcher.fetch(server.url("/yes"))
            await fetcher.fetch(server.url("/yes"))
            clock[0] += 61
            await fetcher.fetch(server.url("/yes"))
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(server.url("/no/way"))
            return caught.value

    assert run(scenario()).kind == "robots"
    assert server.log.paths() == ["/robots.txt", "/yes", "/yes", "/robots.txt", "/yes"]


def test_robots_5xx_disallows_this_attempt_only(server):
    server.routes["/robots.txt"] = hs.text(b"", 500)
    server.routes["/page"] = hs.text(b"ok")

    async def scenario() -> tuple[str, bytes]:
        async with Fetcher(POLICY) as fetcher:
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(server.url("/page"))
            server.routes["/robots.txt"] = hs.text(b"", 404)
            return caught.value.kind, (await fetcher.fetch(server.url("/page"))).body

    assert run(scenario()) == ("robots", b"ok")
    assert server.log.paths() == ["/robots.txt", "/robots.txt", "/page"]


def test_respect_robots_false_skips_robots(server):
    server.routes["/robots.txt"] = hs.text(b"User-agent: *\nDisallow: /\n")
    server.routes["/p"] = hs.text(b"ok")
    assert run(fetch_once(server.url("/p"), respect_robots=False)).body == b"ok"
    assert server.log.paths() == ["/p"]


# ---------------------------------------------------------------- politeness


def test_one_request_in_flight_per_host_with_interval(server):
    server.routes["/p"] = hs.delayed(0.05, hs.text(b"ok"))
    policy = FetchPolicy(min_host_interval=0.25, gate=LOOPBACK)

    async def three() -> None:
        async with Fetcher(policy) as fetcher:
            urls = [server.url("/p"), server.url("/p"), server.url("/p")]
            await asyncio.gather(*(fetcher.fetch(u, respect_robots=False) for u in urls))

    run(three())
    seen = sorted(server.log.requests, key=lambda s: s.started)
    for before, after in itertools.pairwise(seen):
        assert before.ended is not None
        assert after.started >= before.ended
        assert after.started - before.started >= 0.2


def test_waiting_for_politeness_does_not_eat_the_deadline(server):
    server.routes["/p"] = hs.text(b"ok")
    policy = FetchPolicy(min_host_interval=1.2, deadline=0.6, gate=LOOPBACK)

    async def twice() -> float:
        async with Fetcher(policy) as fetcher:
            await fetcher.fetch(server.url("/p"), respect_robots=False)
            started = time.monotonic()
            await fetcher.fetch(server.url("/p"), respect_robots=False)
            return time.monotonic() - started

    assert run(twice()) >= 1.0  # waited out the interval, then fetched within the deadline


def test_different_hosts_proceed_concurrently():
    with hs.serve("127.0.0.1") as one, hs.serve("127.0.0.3") as two:
        for srv in (one, two):
            srv.routes["/slow"] = hs.delayed(0.4, hs.text(b"ok"))

        async def both() -> None:
            async with Fetcher(POLICY) as fetcher:
                urls = (one.url("/slow"), two.url("/slow"))
                await asyncio.gather(*(fetcher.fetch(u, respect_robots=False) for u in urls))

        run(both())
        (a,), (b,) = one.log.requests, two.log.requests
        assert a.ended is not None
        assert b.ended is not None
        assert a.started < b.ended
        assert b.started < a.ended


# ---------------------------------------------------------------- counters


def test_stats_count_requests_not_modified_refusals_and_errors(server, outsider):
    server.routes["/c"] = hs.conditional('"e"', "x", b"b")
    server.routes["/gone"] = hs.text(b"", 410)

    async def scenario() -> dict[str, int]:
        async with Fetcher(POLICY) as fetcher:
            await fetcher.fetch(server.url("/c"), conditional=Conditional(etag='"e"'))
            for url in (server.url("/gone"), outsider.url("/")):
                with pytest.raises(FetchError):
                    await fetcher.fetch(url)
            return fetcher.stats()

    stats = run(scenario())
    assert stats["requests"] == 3
    assert stats["fetches"] == 3
    assert stats["not_modified"] == 1
    assert stats["refused"] == 1
    assert stats["errors_http_status"] == 1
    assert stats["errors_timeout"] == 0


def test_httpx_is_imported_only_by_fetch():
    package = REPO / "monitor"
    importers = {
        p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if "import httpx" in p.read_text() or "import httpcore" in p.read_text()
    }
    assert all(importer.startswith("fetch/") for importer in importers), importers
    assert httpx.__version__ == "0.28.1"


def test_a_credential_h11_will_not_send_never_reaches_the_error_message(server):
    """A token with a line break (a bad paste into the settings) is refused by the HTTP
    parser before anything is sent, and the parser's own message quotes the header value:
    the error must say what went wrong without it."""
    server.routes["/api"] = hs.text(b"{}")
    secret = "tok-3f9c2a71\nX-Injected: 1"

    async def go() -> None:
        async with Fetcher(POLICY) as fetcher:
            await fetcher.fetch(server.url("/api"), headers={"Authorization": f"Bearer {secret}"})

    with pytest.raises(FetchError) as caught:
        run(go())
    assert caught.value.kind == "protocol"
    assert "tok-3f9c2a71" not in str(caught.value)
    assert "header" in str(caught.value)
    assert "/api" not in server.log.paths()
