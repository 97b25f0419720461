"""The HTTP receiver the alerts tests page into (tests/support/servers/receivers.py) does what
they rely on: scripted failures first, then success, keeping only the accepted bodies."""

from __future__ import annotations

from tests.support.servers.receivers import http_receiver


def test_receiver_scripts_failures_then_success() -> None:
    import httpx

    with http_receiver(fail_first=1) as receiver:
        assert httpx.post(receiver.url(), json={"a": 1}).status_code == 503
        assert httpx.post(receiver.url(), json={"a": 2}).status_code == 200
        assert [hit.json() for hit in receiver.accepted()] == [{"a": 2}]
