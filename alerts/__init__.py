"""Paging: on-call schedules, escalation, a durable outbox, and channels.

The package knows incidents and people, not crawling (it never imports ``monitor``).

Public API (the daemon wires these):

- ``alerts.config.AlertsConfig``: channels, on-call and outbox settings (pydantic).
- ``alerts.channels.build_channels(config.channel_pairs())`` -> ``{name: Channel}``.
- ``alerts.oncall``: ``who_is_on_call``, ``plan``, ``due_steps``, ``IncidentState``, ``Step``.
- ``alerts.grouping``: ``inhibit_decision``, ``growth``, ``followup_decision``,
  ``followup_step``, ``repeat_decision``.
- ``alerts.page``: ``Page``, ``PostRef``, ``dedup_key_for``, ``render_text``.
- ``alerts.outbox``: ``enqueue``, ``enqueue_step``, ``cancel_pending``, ``drain``,
  ``outbox_status``, ``history``, ``hold`` / ``release`` (inhibition records); tables in
  ``alerts.store``.
- ``alerts.ack``: ``ack_url``, ``sign_ack``, ``verify_ack``, ``verify_tap``.
- ``alerts.pagerduty_webhook``: ``verify_signature``, ``parse_event`` (PagerDuty's v3
  webhooks, which the web UI receives).
- ``alerts.errors``: the exception tree.
"""

from __future__ import annotations

from alerts.ack import AckCheck, ack_url, sign_ack, verify_ack, verify_tap
from alerts.config import AlertsConfig, OncallConfig, OutboxConfig
from alerts.errors import AlertsError, ChannelConfigError, ConfigError, OutboxError, ScheduleError
from alerts.grouping import (
    Decision,
    followup_decision,
    followup_step,
    growth,
    inhibit_decision,
    repeat_decision,
)
from alerts.oncall import IncidentState, OnCall, Step, due_steps, plan, who_is_on_call
from alerts.outbox import (
    cancel_pending,
    drain,
    enqueue,
    enqueue_step,
    history,
    hold,
    outbox_status,
    release,
)
from alerts.page import Page, PostRef, dedup_key_for, render_subject, render_text
from alerts.store import DeliveryRow, OutboxRow, alert_tables

__all__ = [
    "AckCheck",
    "AlertsConfig",
    "AlertsError",
    "ChannelConfigError",
    "ConfigError",
    "Decision",
    "DeliveryRow",
    "IncidentState",
    "OnCall",
    "OncallConfig",
    "OutboxConfig",
    "OutboxError",
    "OutboxRow",
    "Page",
    "PostRef",
    "ScheduleError",
    "Step",
    "ack_url",
    "alert_tables",
    "cancel_pending",
    "dedup_key_for",
    "drain",
    "due_steps",
    "enqueue",
    "enqueue_step",
    "followup_decision",
    "followup_step",
    "growth",
    "history",
    "hold",
    "inhibit_decision",
    "outbox_status",
    "plan",
    "release",
    "render_subject",
    "render_text",
    "repeat_decision",
    "sign_ack",
    "verify_ack",
    "verify_tap",
    "who_is_on_call",
]
