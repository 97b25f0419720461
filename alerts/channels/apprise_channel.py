"""Any Apprise URL (``mailto://``, ``slack://``, ``workflows://``, ``ntfy://``, ``json://``...).

Apprise 2.x returns an ``AppriseResult`` (SUCCESS / PARTIAL / FAILURE / NOMATCH / TIMEOUT),
not a bool, and the cause of a failure appears only in its log. We capture that log per
send (``result.logs()``), redact it, and put the last warning into ``Delivery.reason``.
Printing a URL always goes through Apprise's own privacy form (``url(privacy=True)``), and
the values of custom arguments (``+header``, ``-query``, ``:payload``), which that form
leaves in clear, are masked on top.

Retries are the outbox's job (it is durable, Apprise is not), so Apprise's ``retry`` stays
at its default of 0. A call deadline (``timeout``) is always set.

Deduplication by the receiver: every page's text carries its idempotency key (a chat
message shows it); plugins that send HTTP headers (``json://``, ``form://``, ``xml://``...)
also get an ``Idempotency-Key`` header, and ``json://`` an ``idempotency_key`` field in its
body. E-mail goes through ``alerts.channels.email`` (a stable Message-ID per step).
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import warnings
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

import apprise
from apprise.plugins.custom_json import NotifyJSON

from alerts.channels.base import MASK, Delivery, Redactor, retryable_status
from alerts.channels.email import Mail, NotifyEmail, send_email, send_mail
from alerts.errors import ChannelConfigError
from alerts.page import Page, render_subject, render_text

__all__ = ["AppriseChannel", "apprise_masked_url"]

log = logging.getLogger(__name__)
_STATUS = apprise.AppriseResultStatus
_HTTP_ERROR = re.compile(r"error=(\d{3})")
_NOTIFY_TYPES = {
    "acknowledge": apprise.NotifyType.INFO,
    "resolve": apprise.NotifyType.SUCCESS,
    "followup": apprise.NotifyType.WARNING,
    "digest": apprise.NotifyType.WARNING,
}
_REASON_CHARS = 300
# ?+X-Token=v, &-token=v, &:key=v (Apprise prints + and : percent-encoded)
_CUSTOM_ARG = re.compile(r"([?&](?:\+|-|:|%2B|%3A)[^=&#]*=)[^&#]*", re.IGNORECASE)


@functools.cache
def _load_plugins() -> None:
    """Load Apprise's plugins once, hiding the DeprecationWarning some raise on import
    (``imghdr`` in its PGP helper) so test suites running with warnings as errors pass."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        apprise.Apprise.instantiate("json://localhost", suppress_exceptions=True)


def apprise_masked_url(url: str) -> str | None:
    """Apprise's privacy form of ``url``, with the values of custom arguments masked too;
    ``None`` when Apprise cannot use the URL."""
    _load_plugins()
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    return None if plugin is None else _mask_custom_args(str(plugin.url(privacy=True)))


def _mask_custom_args(url: str) -> str:
    """Apprise's privacy form hides the fields each service declares secret, but prints
    custom headers (``+X-Token=``), query (``-token=``) and payload (``:key=``) arguments
    as given, and webhooks carry their tokens exactly there."""
    return _CUSTOM_ARG.sub(lambda m: m.group(1) + MASK, url)


class AppriseChannel:
    """One Apprise URL as a channel."""

    schemes: ClassVar[tuple[str, ...]] = ("*",)

    def __init__(self, name: str, url: str, *, timeout: float = 15.0) -> None:
        masked = apprise_masked_url(url)
        if masked is None:
            scheme = url.split("://", 1)[0] if "://" in url else "?"
            raise ChannelConfigError(
                f"channel {name!r}: Apprise cannot use this {scheme}:// URL; "
                "check it against the Apprise wiki for that service"
            )
        self.name = name
        self.masked_url = masked
        self.timeout = timeout
        self._redact = Redactor.from_urls(url, masked)
        plugin: Any = apprise.Apprise.instantiate(url, suppress_exceptions=True)
        self._plugin = plugin
        self._apprise = apprise.Apprise()
        self._apprise.add(plugin)
        self._keyed = threading.Lock()  # the plugin's headers are set per page
        if isinstance(self._plugin, NotifyEmail):
            self._plugin.socket_connect_timeout = timeout

    def send(self, page: Page, now: datetime) -> Delivery:
        if isinstance(self._plugin, NotifyEmail):
            return send_email(self._plugin, page, now, self._redact)
        with self._keyed:
            _set_key(self._plugin, page.idempotency_key)
            return self._notify(page)

    def send_mail(self, mail: Mail, recipients: Sequence[str], now: datetime) -> Delivery:
        """``mail`` (a report, not a page) to ``recipients`` through this e-mail channel's
        SMTP server and sender; a channel that is not e-mail refuses, not retryable."""
        if not isinstance(self._plugin, NotifyEmail):
            return Delivery.failed(f"channel {self.name!r} is not e-mail", retryable=False)
        return send_mail(self._plugin, mail, recipients, now, self._redact)

    def _notify(self, page: Page) -> Delivery:
        try:
            result = self._apprise.notify(
                body=render_text(page),
                title=render_subject(page),
                body_format=apprise.NotifyFormat.TEXT,
                notify_type=_NOTIFY_TYPES.get(page.step.split(":")[0], apprise.NotifyType.FAILURE),
                timeout=self.timeout,
                log_level=logging.WARNING,
            )
        except Exception as exc:  # a plugin bug must not crash the sender
            return Delivery.failed(f"apprise_crashed: {type(exc).__name__}", retryable=True)
        return self._delivery(result.status, [entry.message for entry in result.logs()])

    def _delivery(self, status: apprise.AppriseResultStatus, messages: list[str]) -> Delivery:
        if status == _STATUS.SUCCESS:
            return Delivery.accepted()
        detail = self._redact(messages[-1]) if messages else "no log message"
        reason = f"apprise_{status.name.lower()}: {' '.join(detail.split())[:_REASON_CHARS]}"
        log.warning("channel %s failed: %s", self.name, reason)
        return Delivery.failed(reason, retryable=_retryable(status, messages))


def _set_key(plugin: Any, key: str) -> None:
    """The page's idempotency key as a header, and in a JSON body, where the plugin has them."""
    headers = getattr(plugin, "headers", None)
    if isinstance(headers, dict):
        headers["Idempotency-Key"] = key
    if isinstance(plugin, NotifyJSON):
        plugin.payload_extras["idempotency_key"] = key


def _retryable(status: apprise.AppriseResultStatus, messages: list[str]) -> bool:
    if status == _STATUS.NOMATCH:
        return False
    codes = [int(code) for text in messages for code in _HTTP_ERROR.findall(text)]
    return not codes or retryable_status(codes[-1])
