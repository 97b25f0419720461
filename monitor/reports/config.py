"""``[[reports]]``: who gets which brands' weekly report, when, through which e-mail channel.

TOML::

    [[reports]]
    name = "weekly"
    brands = ["Nordtel"]              # empty: every configured brand
    recipients = ["ceo@example.com"]
    channel = "duty-mail"             # a mailto:// channel: its SMTP server and sender
    weekday = "mon"
    hour = 8
    timezone = "Europe/Copenhagen"
    answer_target_hours = 4           # "answered within" in the service figures

Field problems are reported by pydantic with their key path; references to brands and
channels by :func:`report_problems`, in the same list (``monitor.settings.cross_check``).
"""

from __future__ import annotations

import re
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EMAIL_SCHEMES = ("mailto://", "mailtos://")
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


class ReportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, description="Names the report's sends.")
    brands: list[str] = Field(default_factory=list, description="Empty: every brand.")
    recipients: list[str] = Field(min_length=1, description="E-mail addresses.")
    channel: str = Field(min_length=1, description="A mailto:// channel from [[channels]].")
    weekday: Weekday = Field("mon", description="The day it is sent, in timezone.")
    hour: int = Field(8, ge=0, le=23, description="The hour it is sent, in timezone.")
    timezone: str = Field("UTC", description="IANA zone for the hour and the days.")
    answer_target_hours: float = Field(4.0, gt=0, le=24 * 14)

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if not _ADDRESS.match(a)]
        if bad:
            raise ValueError(f"not an e-mail address: {', '.join(map(repr, bad))}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def report_problems(raw: dict[str, Any]) -> list[str]:
    """Cross references of ``[[reports]]`` on the raw settings: known brands, an e-mail
    channel, names unique."""
    reports = _tables(raw.get("reports"))
    brands = {b.get("name") for b in _tables(raw.get("brands"))}
    channels = {c.get("name"): str(c.get("url", "")) for c in _tables(raw.get("channels"))}
    problems: list[str] = []
    seen: set[str] = set()
    for i, report in enumerate(reports):
        name = report.get("name")
        if isinstance(name, str) and name in seen:
            problems.append(f"reports.{i}.name: duplicate name {name!r}")
        seen.add(str(name))
        for brand in report.get("brands") or []:
            if brand not in brands:
                problems.append(f"reports.{i}.brands: unknown brand {brand!r} (not in [[brands]])")
        channel = report.get("channel")
        if channel is None:
            continue
        if channel not in channels:
            problems.append(f"reports.{i}.channel: unknown channel {channel!r}")
        elif not channels[channel].lower().startswith(EMAIL_SCHEMES):
            problems.append(f"reports.{i}.channel: {channel!r} is not a mailto:// channel")
    return problems


def _tables(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
