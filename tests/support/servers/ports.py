"""Loopback ports picked for a test: one free to listen on, one where nothing listens."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port() -> int:
    """A port nothing listens on (connection refused)."""
    return free_port()
