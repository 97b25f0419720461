"""Serving the app with uvicorn inside the daemon's event loop.

``serve(app, bind, stop)`` listens on ``bind`` (``HOST:PORT``, ``[::1]:8080`` for IPv6)
and returns once ``stop`` is set and open requests have finished. Forwarded headers are
believed only from ``[web] trusted_proxies``. Signals are the
daemon's business: this server installs no handlers of its own. The socket is bound
before serving starts, so a busy or forbidden address fails at once as a ConfigError, and
a caller that passes its own socket (``listen``) can connect as soon as it has it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator, Sequence

import uvicorn
from starlette.types import ASGIApp

from monitor.errors import ConfigError

log = logging.getLogger("stormwatch.web")

GRACEFUL_SECONDS = 5


def split_bind(bind: str) -> tuple[str, int]:
    host, _, port = bind.rpartition(":")
    return host.strip("[]"), int(port)


def listen(bind: str) -> socket.socket:
    """A listening socket on ``bind``; ConfigError when the address cannot be used."""
    host, port = split_bind(bind)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio turns Nagle off only on sockets that say so,
    # and with Nagle on, a response's second write waits for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # Linux: accepted inherit
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError([f"web.bind: cannot listen on {bind}: {exc.strerror or exc}"]) from None
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the daemon owns SIGINT/SIGTERM and sets ``stop``


async def serve(
    app: ASGIApp,
    bind: str,
    stop: asyncio.Event,
    *,
    sock: socket.socket | None = None,
    trusted_proxies: Sequence[str] = (),
) -> None:
    """Serve ``app`` until ``stop`` is set (then finish open requests, up to 5 s).
    ``X-Forwarded-For``/``-Proto`` count only from ``trusted_proxies`` (none by default;
    uvicorn alone would believe them from 127.0.0.1, so a local client could be anyone)."""
    sock = sock or listen(bind)
    config = uvicorn.Config(
        app,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies) or [],
        log_config=None,  # our logging setup (monitor.logs) stays in charge
        access_log=False,
        server_header=False,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )
    server = _Server(config)
    log.info("web UI listening on http://%s", bind)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:  # stopped, failed, or cancelled: let open requests finish either way
        server.should_exit = True
        stopping.cancel()
        try:
            await serving
        except SystemExit:  # uvicorn exits when its startup fails
            raise ConfigError([f"web.bind: the web server could not start on {bind}"]) from None
        finally:
            sock.close()
