"""The web's defences: sessions, CSRF, origins, roles, redirects, headers, escaping, and a
real uvicorn server started and stopped the way the daemon does it."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from monitor.web.security import CSP, own_host_names
from monitor.web.server import listen, serve
from tests.support.worlds.web import (
    HOSTILE_SOURCE,
    INCIDENT,
    PASSWORD,
    World,
    assert_inert,
    build_template,
    login_token,
    open_world,
)

DOMAIN = "testserver.local"  # where the test client files cookies for http://testserver
PUBLIC = {"/login", "/healthz", "/"}
# Allowed by a signed token (a page's one-tap link) or a signed body (PagerDuty, a WebSub
# hub, Facebook), not a session: without one they refuse (test_web_onetap.py,
# test_web_pagerduty_hook.py, tests/monitor/push/).
SIGNED = ("/tap/", "/hooks/", "/push/")
PARAMS = {
    "incident_id": INCIDENT,
    "post_id": "plain",
    "brand": "Nordtel",
    "action": "note",
    "token": "not-a-subscription",
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("web"))


@pytest.fixture
def web(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from open_world(template, tmp_path, monkeypatch, free_failures=3)


def routes(world: World) -> list[tuple[str, str]]:
    """(method, concrete path) for every route the app declares."""
    found = []
    for route in iter_route_contexts(world.app.routes):
        if not route.methods or not route.path:  # the /static mount
            continue
        path = re.sub(r"\{(\w+)(?::path)?\}", lambda m: PARAMS[m.group(1)], route.path)
        found += [(method, path) for method in sorted(route.methods) if method != "HEAD"]
    return found


def changing(world: World) -> list[str]:
    paths = [p for m, p in routes(world) if m == "POST"]
    return [p for p in paths if p not in ("/login", "/api/v1/login") and not p.startswith(SIGNED)]


def test_every_route_but_the_public_ones_needs_a_session(web: World) -> None:
    client = web.client()
    checked = 0
    for method, path in routes(web):
        if path in PUBLIC or path == "/api/v1/login":
            continue
        if path.startswith(SIGNED):
            refused = client.request(method, path).status_code
            assert refused in (400, 403, 404, 503), (method, path, refused)
            continue
        response = client.request(method, path)
        checked += 1
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
            assert response.json()["kind"] == "unauthenticated"
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login"), (method, path)
    assert checked >= 25


def test_a_page_sends_the_browser_to_login_and_back(web: World) -> None:
    client = web.client()
    response = client.get("/queue?brand=Nordtel")
    assert response.headers["location"] == "/login?next=%2Fqueue%3Fbrand%3DNordtel"
    form = client.get(response.headers["location"])
    assert 'name="next" value="/queue?brand=Nordtel"' in form.text
    hx = client.get("/queue", headers={"HX-Request": "true"})
    assert hx.status_code == 401
    assert hx.headers["HX-Redirect"].startswith("/login")


def test_every_change_needs_the_csrf_token(web: World) -> None:
    client = web.login("ada")
    for path in changing(web):
        assert client.post(path).status_code == 403, path
        assert client.post(path, data={"csrf_token": "forged"}).status_code == 403, path
        wrong = client.post(path, headers={"X-CSRF-Token": "forged"})
        assert wrong.status_code == 403, path
    assert client.get("/api/v1/me").status_code == 200, "still logged in"


def test_a_viewer_can_read_but_never_change(web: World) -> None:
    client = web.login("vic")
    assert client.get("/queue").status_code == 200
    assert client.get("/api/v1/queue").status_code == 200
    for path in changing(web):
        if path.endswith("/logout") or path == "/settings":  # their own session and zone
            continue
        response = client.post(path, headers={"X-CSRF-Token": client.csrf})  # type: ignore[attr-defined]
        assert response.status_code == 403, path
    body = client.post(
        "/api/v1/queue/plain/Nordtel/ack",
        headers={"X-CSRF-Token": client.csrf},  # type: ignore[attr-defined]
    ).json()
    assert body == {"error": "your role (viewer) can only read", "kind": "forbidden"}


def test_a_change_from_another_origin_is_refused_even_with_the_token(web: World) -> None:
    client = web.login("mia")
    token = client.csrf  # type: ignore[attr-defined]
    url = "/api/v1/queue/plain/Nordtel/ack"
    refused = client.post(url, headers={"X-CSRF-Token": token, "Origin": "http://evil.example"})
    assert refused.status_code == 403
    assert refused.json()["kind"] == "csrf"
    cross = client.post(url, headers={"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    same_site = {"X-CSRF-Token": token, "Sec-Fetch-Site": "same-site"}
    assert client.post(url, headers=same_site).status_code == 403, "a sibling subdomain"
    null = {"X-CSRF-Token": token, "Origin": "null"}
    assert client.post(url, headers=null).status_code == 403, "a sandboxed frame"
    ok = client.post(url, headers={"X-CSRF-Token": token, "Origin": "http://testserver"})
    assert ok.status_code == 200
    assert ok.json()["status"] == "acknowledged"
    # Under Referrer-Policy: no-referrer a browser's own form says "Origin: null"; its
    # Sec-Fetch-Site vouches for it.
    form = {"X-CSRF-Token": token, "Origin": "null", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/api/v1/queue/plain/Nordtel/respond", headers=form).status_code == 200


def test_the_login_form_needs_its_double_submit_cookie(web: World) -> None:
    client = web.client()
    token = login_token(client.get("/login").text)
    fields = {"name": "mia", "password": PASSWORD}
    assert client.post("/login", data={**fields, "csrf_token": "forged"}).status_code == 403
    client.cookies.clear()
    assert client.post("/login", data={**fields, "csrf_token": token}).status_code == 403
    fresh = login_token(client.get("/login").text)
    evil = client.post(
        "/login", data={**fields, "csrf_token": fresh}, headers={"Origin": "http://evil.example"}
    )
    assert evil.status_code == 403
    stale = client.post("/login", data={**fields, "csrf_token": fresh})
    assert stale.status_code == 403, "every form shown gets a new token and cookie"
    again = login_token(stale.text)
    assert client.post("/login", data={**fields, "csrf_token": again}).status_code == 303


def test_wrong_password_then_rate_limit_say_so_clearly(web: World) -> None:
    client = web.client()
    for _ in range(3):
        token = login_token(client.get("/login").text)
        wrong = client.post("/login", data={"name": "mia", "password": "nope", "csrf_token": token})
        assert wrong.status_code == 401
        assert "Wrong user name or password" in wrong.text
    token = login_token(client.get("/login").text)
    limited = client.post("/login", data={"name": "mia", "password": PASSWORD, "csrf_token": token})
    assert limited.status_code == 429
    assert "Too many failed logins" in limited.text
    assert int(limited.headers["Retry-After"]) > 0
    api = client.post("/api/v1/login", json={"name": "mia", "password": PASSWORD})
    assert api.status_code == 429
    assert api.json()["kind"] == "rate_limited"
    web.clock.advance(minutes=16)
    assert client.post("/api/v1/login", json={"name": "mia", "password": PASSWORD}).is_success


def test_login_replaces_a_planted_session_cookie_and_revokes_the_old_one(web: World) -> None:
    client = web.client()
    client.cookies.set("stormwatch_session", "planted-by-an-attacker", domain=DOMAIN)
    web.login("mia", client)
    first = client.cookies["stormwatch_session"]
    assert first != "planted-by-an-attacker"
    web.login("mia", client)
    second = client.cookies["stormwatch_session"]
    assert second != first
    stale = web.client()
    stale.cookies.set("stormwatch_session", first, domain=DOMAIN)
    assert stale.get("/api/v1/me").status_code == 401, "the replaced session is revoked"


def test_session_cookie_flags(web: World) -> None:
    client = web.client()
    token = login_token(client.get("/login").text)
    response = client.post(
        "/login", data={"name": "mia", "password": PASSWORD, "csrf_token": token}
    )
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("stormwatch_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie, "public_url is http here; https turns Secure on"


def test_logout_revokes_the_session(web: World) -> None:
    client = web.login("mia")
    old = client.cookies["stormwatch_session"]
    response = client.post("/logout", data={"csrf_token": client.csrf})  # type: ignore[attr-defined]
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    replay = web.client()
    replay.cookies.set("stormwatch_session", old, domain=DOMAIN)
    assert replay.get("/queue").headers["location"].startswith("/login")
    assert replay.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "/\t/x"],
)
def test_login_never_redirects_off_site(web: World, target: str) -> None:
    client = web.client()
    page = client.get("/login", params={"next": target}).text
    assert 'name="next" value="/incidents"' in page
    response = client.post(
        "/login",
        data={"name": "mia", "password": PASSWORD, "csrf_token": login_token(page), "next": target},
    )
    assert response.headers["location"] == "/incidents"


def test_security_headers_are_on_every_response(web: World) -> None:
    client = web.login("mia")
    anonymous = web.client()
    responses = [
        anonymous.get("/login"),
        anonymous.get("/healthz"),
        anonymous.get("/queue"),
        anonymous.get("/api/v1/queue"),
        anonymous.get("/static/app.css"),
        anonymous.get("/static/nope.js"),
        client.get("/queue"),
        client.get("/no/such/page"),
        client.get("/api/v1/queue/nope/Nordtel"),
        client.post("/api/v1/queue/plain/Nordtel/ack"),
        client.get("/exports/queue.csv"),
    ]
    for response in responses:
        headers = response.headers
        assert headers["content-security-policy"] == CSP, response.url
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"
        expected = "no-cache" if response.url.path.startswith("/static/") else "no-store"
        assert headers["cache-control"] == expected, response.url


def test_no_page_has_inline_script_or_style(web: World) -> None:
    client = web.login("mia")
    for path in ("/incidents", f"/incidents/{INCIDENT}", "/queue", "/posts/plain/Nordtel"):
        page = client.get(path).text
        assert "<style" not in page, path
        assert " style=" not in page, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path


def test_static_files_are_served_from_the_package(web: World) -> None:
    client = web.client()
    htmx = client.get("/static/htmx.min.js")
    assert htmx.status_code == 200
    assert "javascript" in htmx.headers["content-type"]
    assert "htmx" in htmx.text[:200]
    assert client.get("/static/app.js").status_code == 200
    assert "0BSD" in client.get("/static/LICENSES.txt").text
    assert client.get("/static/../app.py").status_code == 404


def test_healthz_is_public(web: World) -> None:
    response = web.client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_hostile_source_name_is_shown_as_text(web: World) -> None:
    page = web.login("vic").get("/sources").text
    assert "&lt;script&gt;alert(&#34;source&#34;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(4)&gt;" in page
    assert_inert(page)
    assert HOSTILE_SOURCE not in page


def test_openapi_needs_a_session_and_no_docs_ui_is_served(web: World) -> None:
    assert web.client().get("/api/openapi.json").status_code == 401
    schema = web.login("vic").get("/api/openapi.json").json()
    assert "/api/v1/queue" in schema["paths"]
    assert "/queue" not in schema["paths"]
    for path in ("/docs", "/redoc"):
        assert web.login("vic").get(path).status_code == 404


def test_oversized_bodies_are_refused_before_reading(web: World) -> None:
    client: TestClient = web.login("mia")
    response = client.post(
        "/api/v1/queue/plain/Nordtel/note",
        content=b"x" * 1_000_001,
        headers={"X-CSRF-Token": client.csrf, "Content-Type": "application/json"},  # type: ignore[attr-defined]
    )
    assert response.status_code == 413
    assert response.headers["content-security-policy"] == CSP

    def chunks() -> Iterator[bytes]:
        for _ in range(1100):
            yield b"x" * 1000

    chunked = client.post(
        "/posts/plain/Nordtel/note",
        content=chunks(),
        headers={"X-CSRF-Token": client.csrf, "Content-Type": "application/x-www-form-urlencoded"},  # type: ignore[attr-defined]
    )
    assert chunked.status_code == 413, "a body without Content-Length is capped too"
    assert chunked.headers["content-security-policy"] == CSP


@pytest.mark.parametrize("path", ["/login", "/healthz", "/static/app.css", "/api/v1/login"])
@pytest.mark.parametrize("host", ["rebound.example", "rebound.example:8080", "", "[::1"])
def test_a_request_for_another_host_name_is_refused(web: World, path: str, host: str) -> None:
    answer = web.client().get(path, headers={"Host": host})
    assert answer.status_code == 400
    assert "[web] allowed_hosts" in answer.text
    assert answer.headers["content-security-policy"] == CSP


@pytest.mark.parametrize(
    "host",
    [
        "testserver", "TESTSERVER:443", "localhost:8080", "127.0.0.1", "[::1]:8080",
        "192.0.2.7:8080", "[2001:db8::7]",
    ],
)  # fmt: skip
def test_loopback_names_the_public_url_and_addresses_are_served(web: World, host: str) -> None:
    assert web.client().get("/healthz", headers={"Host": host}).status_code == 200


def test_own_host_names_add_a_specific_bind_and_the_allowed_hosts() -> None:
    assert own_host_names("0.0.0.0", None, []) == {"localhost", "127.0.0.1", "::1"}
    names = own_host_names("192.0.2.4", "https://sw.example.dk/x", ["intra"])
    assert names >= {"localhost", "192.0.2.4", "sw.example.dk", "intra"}


def test_a_real_server_serves_and_stops_when_told(web: World) -> None:
    async def scenario() -> tuple[int, str, bool]:
        stop = asyncio.Event()
        sock = listen("127.0.0.1:0")
        port = sock.getsockname()[1]
        task = asyncio.create_task(serve(web.app, f"127.0.0.1:{port}", stop, sock=sock))
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/healthz")
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        return response.status_code, response.headers["content-security-policy"], task.done()

    status, csp, stopped = asyncio.run(scenario())
    assert (status, csp, stopped) == (200, CSP, True)


def spray(web: World, trusted_proxies: list[str]) -> list[int]:
    """25 wrong logins for 25 names through a real server, each claiming another address."""

    async def scenario() -> list[int]:
        stop = asyncio.Event()
        sock = listen("127.0.0.1:0")
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        task = asyncio.create_task(
            serve(web.app, base, stop, sock=sock, trusted_proxies=trusted_proxies)
        )
        statuses = []
        async with httpx.AsyncClient(base_url=base) as client:
            for i in range(25):
                body = {"name": f"guess{i}", "password": "wrong password!"}
                headers = {"X-Forwarded-For": f"198.51.100.{i}"}
                answer = await client.post("/api/v1/login", json=body, headers=headers)
                statuses.append(answer.status_code)
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        return statuses

    return asyncio.run(scenario())


def test_a_made_up_forwarded_for_does_not_dodge_the_login_limit(web: World) -> None:
    statuses = spray(web, trusted_proxies=[])
    assert statuses[:20] == [401] * 20
    assert set(statuses[20:]) == {429}


def test_a_trusted_proxy_forwards_the_client_address(web: World) -> None:
    assert spray(web, trusted_proxies=["127.0.0.0/8"]) == [401] * 25


def test_the_listening_socket_turns_nagle_off_for_its_connections() -> None:
    """Else each response's body waits for the client's delayed ACK (benchmarks/RESULTS.md)."""
    sock = listen("127.0.0.1:0")
    try:
        assert sock.proto == socket.IPPROTO_TCP  # asyncio sets TCP_NODELAY only then
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()


def test_a_busy_address_is_a_config_error() -> None:
    from monitor.errors import ConfigError

    first = listen("127.0.0.1:0")
    try:
        with pytest.raises(ConfigError) as caught:
            listen(f"127.0.0.1:{first.getsockname()[1]}")
        assert "web.bind" in caught.value.problems[0]
    finally:
        first.close()
