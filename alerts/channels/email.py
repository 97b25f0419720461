"""E-mail pages for Apprise ``mailto://`` URLs, with a stable Message-ID per step.

Apprise parses the URL (every provider template, ``smtp=``, ``mode=``, ``from=``, ``to=``)
and holds the SMTP connection (``AppriseSMTPController``: SSL, STARTTLS, login), but its
own sender always adds a random Message-ID, so a page sent again after a crash would be a
second, different e-mail. Here the message is ours: ``Message-ID`` is the page's
idempotency key (the same on every retry of the step, so a mail system that deduplicates
by Message-ID keeps one), and every later step of the round refers to the round's trigger
(``In-Reply-To`` / ``References``), so mail clients thread the pages of an incident.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from alerts.channels.base import Delivery, Redactor
from alerts.page import Page, idempotency_key, render_subject, render_text

with warnings.catch_warnings():  # Apprise's PGP helper imports the deprecated ``imghdr``
    warnings.simplefilter("ignore", DeprecationWarning)
    from apprise.plugins.email import NotifyEmail
    from apprise.plugins.email.smtp import SMTP_EXCEPTIONS, AppriseSMTPController

__all__ = ["Mail", "NotifyEmail", "email_message", "mail_message", "message_id", "send_email"]


def message_id(page: Page, domain: str, step: str | None = None) -> str:
    """``<key@domain>`` for ``page`` (or for another ``step`` of the same round and person)."""
    key = (
        page.idempotency_key
        if step is None
        else idempotency_key(page.dedup_key, step, page.recipient)
    )
    return f"<{key}@{domain}>"


def email_message(page: Page, sender: tuple[str, str], to: tuple[str, str], now: datetime) -> Any:
    """The plain-text e-mail of ``page`` from ``sender`` to ``to`` ((name, address) pairs)."""
    domain = sender[1].rpartition("@")[2] or "stormwatch.invalid"
    message = EmailMessage()
    message["Subject"] = render_subject(page)
    message["From"] = formataddr((sender[0] or "Stormwatch", sender[1]))
    message["To"] = formataddr((to[0] or "", to[1]))
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(page, domain)
    if page.step != "trigger":
        trigger = message_id(page, domain, "trigger")
        message["In-Reply-To"], message["References"] = trigger, trigger
    message["X-Stormwatch-Key"] = page.idempotency_key
    message.set_content(render_text(page))
    return message


def send_email(plugin: NotifyEmail, page: Page, now: datetime, redact: Redactor) -> Delivery:
    """Send ``page`` to every address of ``plugin`` over one SMTP connection."""
    sender = (str(plugin.from_addr[0] or ""), str(plugin.from_addr[1]))
    targets = [(str(name or ""), str(address)) for name, address in plugin.targets]
    if not targets:
        return Delivery.failed("apprise_failure: no e-mail recipient", retryable=False)
    return _over_smtp(
        plugin,
        [(t, email_message(page, sender, t, now).as_string()) for t in targets],
        redact,
        also=[*plugin.cc, *plugin.bcc],
    )


@dataclass(frozen=True)
class Mail:
    """An e-mail that is not a page (the weekly report): a plain-text and an HTML part.

    ``key`` names it for good (report, brand set, week): its Message-ID, so a mail system
    that deduplicates by Message-ID keeps one copy of a report sent twice."""

    subject: str
    text: str
    html: str
    key: str


def mail_message(mail: Mail, sender: tuple[str, str], to: tuple[str, str], now: datetime) -> Any:
    """``mail`` from ``sender`` to ``to``: multipart/alternative, text first, HTML preferred."""
    domain = sender[1].rpartition("@")[2] or "stormwatch.invalid"
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = formataddr((sender[0] or "Stormwatch", sender[1]))
    message["To"] = formataddr((to[0] or "", to[1]))
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{idempotency_key(mail.key, 'mail', to[1])}@{domain}>"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def send_mail(
    plugin: NotifyEmail, mail: Mail, recipients: Sequence[str], now: datetime, redact: Redactor
) -> Delivery:
    """Send ``mail`` to ``recipients`` (not the URL's own addresses) over the SMTP server and
    sender the channel's URL names, one connection."""
    sender = (str(plugin.from_addr[0] or ""), str(plugin.from_addr[1]))
    if not recipients:
        return Delivery.failed("apprise_failure: no e-mail recipient", retryable=False)
    targets = [("", address) for address in recipients]
    return _over_smtp(
        plugin, [(t, mail_message(mail, sender, t, now).as_string()) for t in targets], redact
    )


def _over_smtp(
    plugin: NotifyEmail,
    messages: Sequence[tuple[tuple[str, str], str]],
    redact: Redactor,
    also: Sequence[str] = (),
) -> Delivery:
    """Each (recipient, message text) over one SMTP connection; refusals named."""
    sender = str(plugin.from_addr[1])
    refused = []
    plugin.throttle()  # Apprise's pacing between e-mails, as its own sender does
    try:
        with AppriseSMTPController(
            host=plugin.smtp_host,
            port=int(plugin.port or 0),
            secure_mode=str(plugin.secure_mode),
            user=plugin.user,
            password=plugin.password,
            verify_certificate=plugin.verify_certificate,
            socket_connect_timeout=math.ceil(plugin.socket_connect_timeout),
        ) as smtp:
            for target, text in messages:
                if not smtp.sendmail(sender, [target[1], *also], text):
                    refused.append(target[1])
    except SMTP_EXCEPTIONS as exc:
        detail = redact(" ".join(f"{type(exc).__name__}: {exc}".split()))[:300]
        return Delivery.failed(f"apprise_failure: smtp {detail}", retryable=True)
    if refused:
        return Delivery.failed(f"apprise_failure: refused {', '.join(refused)}", retryable=True)
    return Delivery.accepted()
