"""Alerting configuration: pydantic v2 models, validated completely at load.

Every model forbids unknown keys and is frozen; every field carries a description (the
settings documentation is generated from them). ``AlertsConfig`` checks cross references
(levels naming unknown schedules, people or channels) and lists every problem by key path
in one error. Channel URLs are ``SecretUrl``: their repr/str/JSON form is the masked URL
(Apprise's own privacy form), and ``reveal()`` is the one way to the real URL.

TOML shape (the lead nests these into the main settings)::

    [[channels]]
    name = "duty-mail"
    url = "mailto://user:pass@example.com?to=duty@example.com"

    [oncall]
    followup_minutes = 15
    [oncall.business_hours]
    timezone = "Europe/Copenhagen"
    [[oncall.people]]
    name = "anna"
    channels = ["duty-mail"]
    [[oncall.schedules]]
    name = "pr-duty"
    rotation = "weekly"
    start = 2026-11-02
    members = ["anna", "bo"]
    [[oncall.policies]]
    name = "default"
    levels = [{ schedules = ["pr-duty"], wait_minutes = 15 }, { people = ["carla"] }]
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

__all__ = [
    "AlertsConfig",
    "BusinessHoursConfig",
    "ChannelConfig",
    "LevelConfig",
    "OncallConfig",
    "OutboxConfig",
    "OverrideConfig",
    "PersonConfig",
    "PolicyConfig",
    "ScheduleConfig",
    "SecretUrl",
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SecretUrl:
    """A channel URL whose printed forms are masked; ``reveal()`` gives the real one."""

    __slots__ = ("_raw",)

    def __init__(self, raw: str) -> None:
        self._raw = raw

    def reveal(self) -> str:
        return self._raw

    @property
    def masked(self) -> str:
        from alerts.channels import build_channel

        return build_channel("-", self._raw).masked_url

    def __repr__(self) -> str:
        return f"SecretUrl({self.masked!r})"

    def __str__(self) -> str:
        return self.masked

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretUrl) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls._validate,
            core_schema.union_schema(
                [core_schema.is_instance_schema(cls), core_schema.str_schema(min_length=1)]
            ),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @classmethod
    def _validate(cls, value: SecretUrl | str) -> SecretUrl:
        return value if isinstance(value, SecretUrl) else cls(value.strip())


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelConfig(_Model):
    """One destination pages can be sent to."""

    name: str = Field(min_length=1, description="Name that levels and people refer to.")
    url: SecretUrl = Field(
        description="Apprise URL (mailto://, slack://, workflows://, ntfy://, json://...), "
        "pagerduty://ROUTING_KEY, stdout:// or file:///path. Secret: printed masked."
    )

    @model_validator(mode="after")
    def _buildable(self) -> ChannelConfig:
        from alerts.channels import build_channel

        build_channel(self.name, self.url.reveal())  # raises ChannelConfigError (masked)
        return self


class PersonConfig(_Model):
    """Someone who can be paged."""

    name: str = Field(min_length=1, description="Name used in schedules and levels.")
    channels: list[str] = Field(
        min_length=1, description="This person's channels, in fallback order."
    )


class OverrideConfig(_Model):
    """A person covering a schedule for a time range (holiday, swap)."""

    person: str = Field(description="Who is on call instead during the range.")
    start: datetime = Field(description="Start (inclusive); naive means the schedule's zone.")
    end: datetime = Field(description="End (exclusive); naive means the schedule's zone.")
    reason: str = Field(default="", description="Why, e.g. 'holiday' or 'swap with bo'.")

    @model_validator(mode="after")
    def _ordered(self) -> OverrideConfig:
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError("start and end must both have an offset or both be naive")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class ScheduleConfig(_Model):
    """A rotation of people, handing off at a local wall-clock time."""

    name: str = Field(min_length=1, description="Name that levels refer to.")
    timezone: str = Field(default="Europe/Copenhagen", description="IANA zone of the hand-off.")
    rotation: Literal["daily", "weekly"] = Field(description="Shift length.")
    handoff: time = Field(default=time(9, 0), description="Local hand-off time.")
    start: date = Field(
        description="Local date of the first shift; weekly shifts hand off on its weekday."
    )
    members: list[str] = Field(min_length=1, description="People in rotation order.")
    overrides: list[OverrideConfig] = Field(
        default_factory=list, description="Cover for time ranges; the last matching one wins."
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        """A field validator (not a model one): its error names ``.timezone`` and comes
        with the other fields' errors."""
        return _check_zone(name)


class LevelConfig(_Model):
    """One escalation level: who is paged, and how long to wait for an acknowledgement."""

    schedules: list[str] = Field(
        default_factory=list, description="Schedules whose on-call person is paged."
    )
    people: list[str] = Field(default_factory=list, description="People always paged.")
    channels: list[str] = Field(
        default_factory=list,
        description="Shared channels paged once for this level (PagerDuty, a Slack room), "
        "in fallback order.",
    )
    wait_minutes: int = Field(default=15, ge=1, description="Minutes before the next level.")

    @model_validator(mode="after")
    def _someone(self) -> LevelConfig:
        if not (self.schedules or self.people or self.channels):
            raise ValueError("a level needs schedules, people or channels")
        return self


class PolicyConfig(_Model):
    """An escalation policy: levels, repeats and severity routing."""

    name: str = Field(min_length=1, description="Policy name.")
    brands: list[str] = Field(default_factory=list, description="Brands it covers; empty = all.")
    levels: list[LevelConfig] = Field(min_length=1, description="Escalation levels, in order.")
    repeat_minutes: int = Field(
        default=30, ge=1, description="Repeat interval after the last level while unacknowledged."
    )
    repeat_limit: int = Field(default=3, ge=0, description="How many repeats at most.")
    fallback_channels: list[str] = Field(
        default_factory=list, description="Tried after a recipient's own channels fail."
    )
    urgent_severities: list[str] = Field(
        default_factory=lambda: ["critical", "high"],
        description="Severities paged at once, day or night.",
    )
    urgent_kinds: list[str] = Field(
        default_factory=lambda: ["storm", "thread"],
        description="Incident kinds paged at once, day or night; others wait for business "
        "hours and go out as a digest.",
    )


class BusinessHoursConfig(_Model):
    """When non-urgent pages (single flagged posts) may go out, as a digest."""

    timezone: str = Field(default="Europe/Copenhagen", description="IANA zone.")
    days: list[Weekday] = Field(
        default_factory=lambda: list(WEEKDAYS[:5]), description="Work days."
    )
    start: time = Field(default=time(8, 0), description="Local opening time.")
    end: time = Field(default=time(17, 0), description="Local closing time.")
    holidays: list[date] = Field(default_factory=list, description="Closed dates.")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        return _check_zone(name)

    @model_validator(mode="after")
    def _sane(self) -> BusinessHoursConfig:
        if self.end <= self.start or not self.days:
            raise ValueError("business hours need days and an end after the start")
        return self


class OutboxConfig(_Model):
    """How the durable outbox retries and falls back."""

    failures_before_fallback: int = Field(
        default=3, ge=1, description="Retryable failures on one channel before the next one."
    )
    base_backoff_seconds: float = Field(default=10, gt=0, description="First retry delay.")
    max_backoff_seconds: float = Field(default=600, gt=0, description="Longest retry delay.")
    lease_seconds: float = Field(
        default=120,
        gt=0,
        description="A claimed row is retried after this if its sender died; "
        "must exceed the longest channel timeout.",
    )
    max_attempts: int = Field(default=30, ge=1, description="Attempts before a row is dead.")
    batch_size: int = Field(default=50, ge=1, description="Rows claimed per drain pass.")


class OncallConfig(_Model):
    """People, schedules, policies and paging rhythm."""

    people: list[PersonConfig] = Field(default_factory=list, description="Who can be paged.")
    schedules: list[ScheduleConfig] = Field(default_factory=list, description="Rotations.")
    policies: list[PolicyConfig] = Field(default_factory=list, description="First match wins.")
    business_hours: BusinessHoursConfig = Field(
        default_factory=BusinessHoursConfig, description="Digest window for non-urgent pages."
    )
    followup_minutes: int = Field(
        default=30,
        ge=1,
        description="A growing storm's follow-up pages (to those already paged; never a new "
        "page) go out at most this often.",
    )
    followup_min_growth: float = Field(
        default=0.25,
        ge=0,
        description="Growth that earns a follow-up: a higher severity, or the peak or the "
        "post count up by at least this fraction (0.25 = a quarter) since the last page.",
    )
    ack_link_minutes: int = Field(
        default=24 * 60,
        ge=1,
        description="How long the acknowledge link in a page to a shared channel (a "
        "PagerDuty service, a chat room) stays valid; it needs a login.",
    )
    # Why an hour: a one-tap link acts without a password, so its life is what a forwarded
    # or leaked page is worth; an unacknowledged incident pages again (repeat_minutes,
    # 30 by default) with a fresh link, so a short life costs the person paged nothing.
    tap_link_minutes: int = Field(
        default=60,
        ge=1,
        le=24 * 60,
        description="How long the one-tap acknowledge link in a page to one person stays "
        "valid (no login; it acts once, as that person).",
    )


class AlertsConfig(_Model):
    """Channels, on-call and outbox settings together, cross-checked."""

    channels: list[ChannelConfig] = Field(default_factory=list, description="Destinations.")
    oncall: OncallConfig = Field(default_factory=OncallConfig, description="On-call setup.")
    outbox: OutboxConfig = Field(default_factory=OutboxConfig, description="Retry behaviour.")

    @model_validator(mode="after")
    def _references(self) -> AlertsConfig:
        problems = reference_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def channel_pairs(self) -> list[tuple[str, str]]:
        """``(name, real url)`` pairs for ``alerts.channels.build_channels``."""
        return [(c.name, c.url.reveal()) for c in self.channels]

    def policy_for(self, brand: str) -> PolicyConfig | None:
        """The first policy covering ``brand``."""
        return next((p for p in self.oncall.policies if not p.brands or brand in p.brands), None)


def reference_problems(config: AlertsConfig) -> list[str]:
    """Every dangling or duplicate name, as ``key.path: problem``."""
    oncall = config.oncall
    channels = _names("channels", [c.name for c in config.channels])
    people = _names("oncall.people", [p.name for p in oncall.people])
    schedules = _names("oncall.schedules", [s.name for s in oncall.schedules])
    problems = channels.problems + people.problems + schedules.problems
    for i, person in enumerate(oncall.people):
        problems += _unknown(f"oncall.people[{i}].channels", person.channels, channels.known)
    for i, sched in enumerate(oncall.schedules):
        problems += _unknown(f"oncall.schedules[{i}].members", sched.members, people.known)
        overriders = [o.person for o in sched.overrides]
        problems += _unknown(f"oncall.schedules[{i}].overrides", overriders, people.known)
    for i, policy in enumerate(oncall.policies):
        problems += _policy_problems(f"oncall.policies[{i}]", policy, config, people.known)
    return problems


def _policy_problems(
    path: str, policy: PolicyConfig, config: AlertsConfig, people: set[str]
) -> list[str]:
    channels = {c.name for c in config.channels}
    schedules = {s.name for s in config.oncall.schedules}
    problems = _unknown(f"{path}.fallback_channels", policy.fallback_channels, channels)
    for j, level in enumerate(policy.levels):
        at = f"{path}.levels[{j}]"
        problems += _unknown(f"{at}.schedules", level.schedules, schedules)
        problems += _unknown(f"{at}.people", level.people, people)
        problems += _unknown(f"{at}.channels", level.channels, channels)
    return problems


class _Names:
    def __init__(self, known: set[str], problems: list[str]) -> None:
        self.known, self.problems = known, problems


def _names(path: str, names: list[str]) -> _Names:
    duplicates = sorted({n for n in names if names.count(n) > 1})
    return _Names(set(names), [f"{path}: duplicate name {n!r}" for n in duplicates])


def _unknown(path: str, names: list[str], known: set[str]) -> list[str]:
    return [f"{path}: unknown name {n!r}" for n in names if n not in known]


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name like Europe/Oslo)") from exc
    return name
