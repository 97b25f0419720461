"""Channels against real receivers: Apprise (SMTP, JSON webhook), PagerDuty-shaped, stdout/file.

Each channel also has a test that its secret never appears in a Delivery, a log record,
an exception text, or what the receiver got in the page body.
"""

from __future__ import annotations

import email
import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from alerts.channels import (
    AppriseChannel,
    FileChannel,
    PagerDutyChannel,
    StdoutChannel,
    build_channel,
)
from alerts.errors import ChannelConfigError
from alerts.page import render_subject, render_text
from tests.support.fixtures.clock import T0
from tests.support.fixtures.pages import make_page
from tests.support.servers.ports import closed_port
from tests.support.servers.receivers import SMTP_PASSWORD, SMTP_USER, http_receiver, smtp_server

PD_KEY = "R0UTINGKEY0123456789abcdefABCDEF"
HOOK_PASSWORD = "Hook-Secret-77aa"

pytestmark = pytest.mark.filterwarnings(
    "ignore:Session.login_data is deprecated:DeprecationWarning"  # inside aiosmtpd's AUTH
)


def mailto(port: int) -> str:
    return (
        f"mailto://{SMTP_USER}:{SMTP_PASSWORD}@example.com?smtp=127.0.0.1&port={port}"
        "&mode=insecure&from=stormwatch@example.com&to=duty@example.com"
    )


def secret_free(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text


# -- Apprise: e-mail through a real SMTP server ------------------------------------------


def test_mailto_page_arrives_at_a_real_smtp_server(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with smtp_server() as mailbox:
        channel = build_channel("duty-mail", mailto(mailbox.port))
        delivery = channel.send(make_page(), T0)
    assert isinstance(channel, AppriseChannel)
    assert delivery.ok, delivery.reason
    [envelope] = mailbox.messages
    message = email.message_from_bytes(envelope.original_content or b"")
    assert message["Subject"] == render_subject(make_page())
    plain = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    body = plain.get_payload(decode=True).decode()
    assert "41 complaints about double billing" in body
    assert "https://forum.example/t/1" in body
    assert "/incidents/inc-1/ack?token=" in body
    secret_free(SMTP_PASSWORD, envelope.original_content.decode(), caplog.text, channel.masked_url)


def test_mailto_message_id_is_stable_per_step_and_later_steps_thread_to_the_trigger() -> None:
    trigger = replace(make_page(), recipient="mette")
    with smtp_server() as mailbox:
        channel = build_channel("duty-mail", mailto(mailbox.port))
        sent = [channel.send(page, T0) for page in (trigger, trigger)]  # a re-send
        sent.append(channel.send(replace(trigger, step="resolve"), T0))
        sent.append(channel.send(replace(trigger, recipient="jonas"), T0))
    assert all(d.ok for d in sent), sent
    first, again, resolve, other = (
        email.message_from_bytes(m.original_content or b"") for m in mailbox.messages
    )
    assert first.get_all("Message-ID") == [f"<{trigger.idempotency_key}@example.com>"]
    assert again["Message-ID"] == first["Message-ID"], "a re-sent step is the same e-mail"
    assert resolve["Message-ID"] not in (first["Message-ID"], other["Message-ID"])
    assert resolve["In-Reply-To"] == first["Message-ID"] == resolve["References"]
    assert first["In-Reply-To"] is None
    assert first["X-Stormwatch-Key"] == trigger.idempotency_key


def test_json_webhook_carries_the_idempotency_key_in_header_body_and_text() -> None:
    page = replace(make_page(), recipient="mette")
    with http_receiver() as receiver:
        channel = build_channel("hook", f"json://127.0.0.1:{receiver.port}/hook")
        assert channel.send(page, T0).ok
        assert channel.send(replace(page, step="escalate:2"), T0).ok
    first, second = receiver.accepted()
    assert first.headers["idempotency-key"] == first.json()["idempotency_key"]
    assert first.json()["idempotency_key"] == page.idempotency_key
    assert f"Delivery key: {page.idempotency_key}" in first.json()["message"]
    assert second.headers["idempotency-key"] != page.idempotency_key, "one key per step"


def test_mailto_to_a_dead_server_fails_retryably_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = build_channel("duty-mail", mailto(closed_port()))
    delivery = channel.send(make_page(), T0)
    assert not delivery.ok
    assert delivery.retryable
    assert delivery.reason.startswith("apprise_failure:")
    secret_free(SMTP_PASSWORD, delivery.reason, caplog.text, repr(channel.masked_url))


# -- Apprise: JSON webhook -----------------------------------------------------------------


def test_json_webhook_gets_the_page_and_maps_failures() -> None:
    with http_receiver(fail_first=2, fail_status=503) as receiver:
        url = f"json://bot:{HOOK_PASSWORD}@127.0.0.1:{receiver.port}/hook"
        channel = build_channel("hook", url)
        first, second, third = (channel.send(make_page(), T0) for _ in range(3))
    assert (first.ok, first.retryable) == (False, True)
    assert "503" in first.reason
    assert third.ok
    assert third.reason == "accepted"
    [hit] = receiver.accepted()
    assert hit.json()["title"] == render_subject(make_page())
    assert hit.json()["message"] == render_text(make_page()).strip()
    assert second.ok is False


def test_json_webhook_400_is_not_retryable_and_secret_stays_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with http_receiver(fail_first=1, fail_status=400) as receiver:
        url = f"json://bot:{HOOK_PASSWORD}@127.0.0.1:{receiver.port}/hook"
        channel = build_channel("hook", url)
        delivery = channel.send(make_page(), T0)
    assert (delivery.ok, delivery.retryable) == (False, False)
    bodies = " ".join(hit.body.decode() for hit in receiver.hits)
    secret_free(HOOK_PASSWORD, delivery.reason, caplog.text, bodies, channel.masked_url)


# -- PagerDuty Events v2 -------------------------------------------------------------------


def pd_url(port: int) -> str:
    return f"pagerduty://{PD_KEY}@127.0.0.1:{port}/v2/enqueue?tls=no"


def test_pagerduty_trigger_acknowledge_resolve_share_the_dedup_key() -> None:
    with http_receiver(ok_status=202, ok_body=b'{"status":"success"}') as receiver:
        channel = build_channel("pd", pd_url(receiver.port))
        results = [
            channel.send(make_page(step=s), T0) for s in ("trigger", "acknowledge", "resolve")
        ]
    assert isinstance(channel, PagerDutyChannel)
    assert [r.reason for r in results] == [
        "accepted: trigger",
        "accepted: acknowledge",
        "accepted: resolve",
    ]
    trigger, ack, resolve = (hit.json() for hit in receiver.hits)
    assert {hit.path for hit in receiver.hits} == {"/v2/enqueue"}
    assert {b["dedup_key"] for b in (trigger, ack, resolve)} == {"stormwatch-inc-1"}
    assert [b["event_action"] for b in (trigger, ack, resolve)] == [
        "trigger",
        "acknowledge",
        "resolve",
    ]
    assert trigger["routing_key"] == PD_KEY
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["component"] == "Nordlys Energi"
    assert trigger["links"][0]["text"] == "Acknowledge"
    assert "payload" not in ack
    assert "payload" not in resolve


@pytest.mark.parametrize(
    ("status", "retryable"), [(429, True), (500, True), (503, True), (400, False), (404, False)]
)
def test_pagerduty_status_mapping(status: int, retryable: bool) -> None:
    with http_receiver(fail_first=1, fail_status=status) as receiver:
        delivery = build_channel("pd", pd_url(receiver.port)).send(make_page(), T0)
    assert (delivery.ok, delivery.retryable) == (False, retryable)
    assert delivery.reason.startswith(f"http_{status}")


def test_pagerduty_connection_refused_is_retryable() -> None:
    delivery = build_channel("pd", pd_url(closed_port())).send(make_page(), T0)
    assert (delivery.ok, delivery.retryable) == (False, True)
    assert delivery.reason.startswith("connect_error")


def test_pagerduty_routing_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = json.dumps({"message": f"Invalid routing key {PD_KEY}", "errors": [PD_KEY]})
    with http_receiver(fail_first=1, fail_status=400) as receiver:
        receiver_reply = echo.encode()
        receiver.answer = lambda hit: (receiver.hits.append(hit), (400, receiver_reply))[1]  # type: ignore[method-assign]
        channel = build_channel("pd", pd_url(receiver.port))
        delivery = channel.send(make_page(), T0)
    assert not delivery.ok
    assert "Invalid routing key ****" in delivery.reason
    secret_free(PD_KEY, delivery.reason, caplog.text, channel.masked_url, repr(channel.masked_url))
    with pytest.raises(ChannelConfigError) as raised:
        build_channel("pd", "pagerduty://")
    secret_free(PD_KEY, str(raised.value))


# -- stdout and file -----------------------------------------------------------------------


def test_stdout_prints_the_rendered_page(capsys: pytest.CaptureFixture[str]) -> None:
    channel = build_channel("console", "stdout://")
    assert isinstance(channel, StdoutChannel)
    assert channel.send(make_page(), T0).ok
    out = capsys.readouterr().out
    assert render_text(make_page()) in out


def test_file_channel_appends_json_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    target = tmp_path / "pages.jsonl"
    channel = build_channel("ops-file", f"file://{target}")
    assert isinstance(channel, FileChannel)
    assert channel.send(make_page(), T0).ok
    assert channel.send(make_page(step="resolve"), T0).ok
    steps = [json.loads(line)["step"] for line in target.read_text().splitlines()]
    assert steps == ["trigger", "resolve"]
    broken = build_channel("broken", f"file://{tmp_path}/missing-dir/pages.jsonl")
    delivery = broken.send(make_page(), T0)
    assert (delivery.ok, delivery.retryable) == (False, True)
    assert delivery.reason == "file_write_failed: FileNotFoundError"


def test_page_itself_holds_no_channel_secret() -> None:
    page_json = make_page().to_json()
    for secret in (PD_KEY, SMTP_PASSWORD, HOOK_PASSWORD):
        assert secret not in page_json
