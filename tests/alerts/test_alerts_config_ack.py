"""Config (channel URLs built or rejected, masked forms, key paths), ack links, page text."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from alerts.ack import ack_url, sign_ack, verify_ack, verify_tap
from alerts.config import AlertsConfig, ChannelConfig
from alerts.errors import ChannelConfigError
from alerts.page import Page, render_subject, render_text
from tests.support.fixtures.clock import T0
from tests.support.fixtures.pages import forged, make_page

SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"


@pytest.mark.parametrize(
    ("url", "secret", "masked_starts"),
    [
        ("mailto://duty:Pw-9a8b7c@example.com?to=pr@example.com", "Pw-9a8b7c", "mailto://duty:"),
        (SLACK, "TIiajkdnlazkcOXrIdevi7FQ", "slack://"),
        ("json://bot:Hook-Secret-1@127.0.0.1:8080/hook", "Hook-Secret-1", "json://bot:****@"),
        ("ntfy://ntfy.example/stormwatch-alerts", None, "ntfy://"),
        (
            "pagerduty://ROUTINGKEY1234567890",
            "ROUTINGKEY1234567890",
            "pagerduty://****@events.pagerduty.com/v2/enqueue",
        ),
        ("json://127.0.0.1:9/hook?-token=Query-Secret-1", "Query-Secret-1", "json://127.0.0.1"),
        ("json://127.0.0.1:9/hook?+X-Token=Head-Secret-1", "Head-Secret-1", "json://127.0.0.1"),
        ("form://127.0.0.1:9/?:apikey=Body-Secret-1", "Body-Secret-1", "form://127.0.0.1"),
        ("stdout://", None, "stdout://"),
        ("file:///var/log/stormwatch/pages.jsonl", None, "file:///var/log/stormwatch/pages.jsonl"),
    ],
)
def test_channel_url_is_built_and_printed_masked(
    url: str, secret: str | None, masked_starts: str
) -> None:
    channel = ChannelConfig(name="c", url=url)  # type: ignore[arg-type]
    assert channel.url.reveal() == url
    printed = [
        repr(channel),
        str(channel.url),
        channel.model_dump_json(),
        str(channel.model_dump()),
    ]
    assert str(channel.url).startswith(masked_starts)
    if secret:
        for text in printed:
            assert secret not in text


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("nosuchservice://abc", "Apprise cannot use"),
        ("mailto://", "Apprise cannot use"),
        ("pagerduty://", "needs a routing key"),
        ("duty@example.com", "has no scheme"),
        ("file://otherhost/x", "file:///absolute/path"),
    ],
)
def test_channel_url_is_rejected_with_a_reason(url: str, why: str) -> None:
    with pytest.raises(ValidationError) as raised:
        ChannelConfig(name="c", url=url)  # type: ignore[arg-type]
    assert why in str(raised.value)


def test_rejected_url_message_does_not_echo_its_secret() -> None:
    from alerts.channels import build_channel

    with pytest.raises(ChannelConfigError) as raised:
        build_channel("c", "nosuchservice://user:TopSecret99@host")
    assert "TopSecret99" not in str(raised.value)


def test_dangling_references_are_listed_by_key_path() -> None:
    with pytest.raises(ValidationError) as raised:
        AlertsConfig.model_validate(
            {
                "channels": [
                    {"name": "mail", "url": "stdout://"},
                    {"name": "mail", "url": "stdout://"},
                ],
                "oncall": {
                    "people": [{"name": "anna", "channels": ["sms"]}],
                    "schedules": [
                        {
                            "name": "duty",
                            "rotation": "daily",
                            "start": "2026-11-02",
                            "members": ["anna", "ghost"],
                        }
                    ],
                    "policies": [{"name": "p", "levels": [{"schedules": ["nope"]}]}],
                },
            }
        )
    text = str(raised.value)
    for expected in (
        "channels: duplicate name 'mail'",
        "oncall.people[0].channels: unknown name 'sms'",
        "oncall.schedules[0].members: unknown name 'ghost'",
        "oncall.policies[0].levels[0].schedules: unknown name 'nope'",
    ):
        assert expected in text


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"name": "s", "rotation": "hourly", "start": "2026-11-02", "members": ["a"]}, "rotation"),
        (
            {
                "name": "s",
                "rotation": "daily",
                "start": "2026-11-02",
                "members": ["a"],
                "timezone": "Europe/Atlantis",
            },
            "unknown time zone",
        ),
        (
            {
                "name": "s",
                "rotation": "daily",
                "start": "2026-11-02",
                "members": ["a"],
                "surprise": 1,
            },
            "Extra inputs",
        ),
    ],
)
def test_schedule_config_rejects(data: dict[str, object], why: str) -> None:
    from alerts.config import ScheduleConfig

    with pytest.raises(ValidationError) as raised:
        ScheduleConfig.model_validate(data)
    assert why in str(raised.value)


# -- ack links ---------------------------------------------------------------------------

KEY = b"0123456789abcdef-stormwatch"


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def test_ack_link_round_trip_and_refusals() -> None:
    url = ack_url("https://sw.example/", KEY, "inc-1", T0, timedelta(hours=24))
    assert url.startswith("https://sw.example/incidents/inc-1/ack?token=")
    token = token_of(url)
    assert verify_ack(KEY, token, "inc-1", "ack", T0).reason == "valid"
    assert verify_ack(KEY, token, "inc-2", "ack", T0).reason == "wrong_incident"
    assert verify_ack(KEY, token, "inc-1", "resolve", T0).reason == "wrong_action"
    late = T0 + timedelta(hours=24)
    expired = verify_ack(KEY, token, "inc-1", "ack", late)
    assert (expired.ok, expired.reason) == (False, "expired")
    assert "expired" in expired.message
    assert verify_ack(b"another-key-0123456789", token, "inc-1", "ack", T0).reason == (
        "bad_signature"
    )


@pytest.mark.parametrize("mangle", ["flip_payload", "flip_signature", "garbage", "empty"])
def test_tampered_ack_tokens_are_refused(mangle: str) -> None:
    token = sign_ack(KEY, "inc-1", "ack", T0 + timedelta(hours=1))
    payload, signature = token.split(".")
    other = sign_ack(KEY, "inc-2", "ack", T0 + timedelta(hours=1)).split(".")[0]
    tampered = {
        "flip_payload": f"{other}.{signature}",
        "flip_signature": f"{payload}.{signature[:-2]}AA",
        "garbage": "not-a-token",
        "empty": "",
    }[mangle]
    check = verify_ack(KEY, tampered, "inc-1", "ack", T0)
    assert not check.ok
    assert check.reason in ("bad_signature", "malformed")


@pytest.mark.parametrize(
    "expiry", ["1e999", "-1e999", "1e18", "1.5", "true", '"9"', "null", "-1", "[1]"]
)
def test_a_signed_token_with_an_impossible_expiry_is_malformed(expiry: str) -> None:
    token = forged(KEY, f'{{"i":"inc-1","a":"ack","e":{expiry}}}')
    assert verify_ack(KEY, token, "inc-1", "ack", T0).reason == "malformed"


def test_a_link_to_one_person_is_a_one_tap_link_bound_to_them() -> None:
    url = ack_url(
        "https://sw.example", KEY, "Nordtel:storm:1", T0, timedelta(hours=1), person="mette"
    )
    parts = urlsplit(url)
    assert parts.path == "/tap/ack/Nordtel%3Astorm%3A1"
    token = token_of(url)
    check = verify_tap(KEY, token, "Nordtel:storm:1", "ack", T0)
    assert (check.ok, check.person, check.expires_at) == (True, "mette", T0 + timedelta(hours=1))
    assert len(check.token_id) == 32
    assert verify_tap(KEY, token, "Nordtel:storm:2", "ack", T0).reason == "wrong_incident"
    assert verify_tap(KEY, token, "Nordtel:storm:1", "resolve", T0).reason == "wrong_action"
    late = verify_tap(KEY, token, "Nordtel:storm:1", "ack", T0 + timedelta(hours=1))
    assert (late.reason, late.person, late.token_id) == ("expired", None, "")
    # The login link still takes it (a logged-in manager acts as themselves).
    assert verify_ack(KEY, token, "Nordtel:storm:1", "ack", T0).ok


def test_a_shared_channels_link_is_not_a_one_tap_link() -> None:
    url = ack_url("https://sw.example", KEY, "inc-1", T0, timedelta(hours=1))
    check = verify_tap(KEY, token_of(url), "inc-1", "ack", T0)
    assert (check.ok, check.reason) == (False, "not_personal")
    assert "log in" in check.message


def test_each_one_tap_token_has_its_own_id_and_the_same_token_keeps_it() -> None:
    def token_id(person: str, minutes: int) -> str:
        token = sign_ack(KEY, "inc-1", "ack", T0 + timedelta(minutes=minutes), person)
        return verify_tap(KEY, token, "inc-1", "ack", T0).token_id

    assert token_id("mette", 60) == token_id("mette", 60)
    assert len({token_id("mette", 60), token_id("jonas", 60), token_id("mette", 61)}) == 3


@pytest.mark.parametrize("person", ['""', "7", "null", '["mette"]', "true"])
def test_a_signed_token_naming_no_person_properly_is_malformed(person: str) -> None:
    token = forged(KEY, f'{{"i":"inc-1","a":"ack","e":{int(T0.timestamp()) + 60},"p":{person}}}')
    expected = "not_personal" if person == "null" else "malformed"
    assert verify_tap(KEY, token, "inc-1", "ack", T0).reason == expected


def test_a_short_signing_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        sign_ack(b"short", "inc-1", "ack", T0)


# -- page text -----------------------------------------------------------------------------


def test_page_renders_the_ten_second_text_and_round_trips() -> None:
    page = make_page(step="escalate:2")
    assert render_subject(page) == (
        "[CRITICAL] Nordlys Energi: Complaint storm: billing (escalated to level 2)"
    )
    text = render_text(page)
    assert (
        text.index("41 complaints") < text.index("1. Dobbelt regning") < text.index("Acknowledge: ")
    )
    assert Page.from_json(page.to_json()) == page
    assert "Acknowledge:" not in render_text(make_page(step="resolve"))
