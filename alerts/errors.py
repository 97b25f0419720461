"""The one exception tree of the ``alerts`` package.

::

    AlertsError                      anything this package raises on purpose
    ├── ConfigError                  configuration that cannot work (found at load time)
    │   ├── ChannelConfigError       a channel URL that no channel class accepts
    │   └── ScheduleError            an on-call schedule or policy that cannot be evaluated
    ├── OutboxError                  the outbox was used against its rules (e.g. bad page row)
    └── WebhookError                 an inbound webhook's body cannot be read (PagerDuty's)

Remote failures are *not* exceptions: a channel returns a ``Delivery`` with ``ok=False``
and a reason. Acknowledge-link checks return an ``AckCheck`` with a named reason too.
Every message is one sentence a person can act on, and never contains a secret: channel
errors quote the URL in its masked form only.
"""

from __future__ import annotations

__all__ = [
    "AlertsError",
    "ChannelConfigError",
    "ConfigError",
    "OutboxError",
    "ScheduleError",
    "WebhookError",
]


class AlertsError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(AlertsError, ValueError):
    """Configuration that cannot work. A ``ValueError`` so pydantic reports it by key path."""


class ChannelConfigError(ConfigError):
    """A channel URL that no channel class accepts (the message holds the masked URL only)."""


class ScheduleError(ConfigError):
    """An on-call schedule or escalation policy that cannot be evaluated."""


class OutboxError(AlertsError):
    """The outbox was used against its rules (for example a page row that cannot be read)."""


class WebhookError(AlertsError):
    """An inbound webhook whose (authentic) body is not the documented envelope."""
