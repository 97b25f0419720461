"""systemd ``Type=notify`` support without a dependency: sd_notify over NOTIFY_SOCKET.

``notify("READY=1")`` after start-up, ``"WATCHDOG=1"`` after every tick (the unit's
``WatchdogSec`` restarts a daemon whose loop hangs), ``"RELOADING=1"`` / ``"STOPPING=1"``.
Outside systemd (no NOTIFY_SOCKET) every call does nothing. Failures are swallowed: a
notification must never take the daemon down.
"""

from __future__ import annotations

import os
import socket


def notify(message: str, environ: dict[str, str] | None = None) -> bool:
    """Send one sd_notify message; True if it was sent."""
    address = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError:
        return False
    return True
