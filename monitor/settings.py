"""Typed settings: one TOML file, validated completely at load.

``load_settings(path, environ)`` reads the file, overlays environment variables named
``STORMWATCH_<SECTION>__<KEY>`` (e.g. ``STORMWATCH_DATABASE__URL``), validates everything
with pydantic and raises :class:`ConfigError` listing *every* problem with its key path, so an
operator fixes the file once instead of once per error (Alertmanager's ``check-config``).

Secrets (database passwords, channel URLs carrying tokens) are :class:`Secret` values whose
``repr`` and ``str`` are masked; only ``.reveal()`` gives the real value, and only the code
that needs it (the database engine, a channel) calls it.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from alerts.config import (
    AlertsConfig,
    ChannelConfig,
    OncallConfig,
    OutboxConfig,
    reference_problems,
)
from classifiers.config import ClassifierSettings
from monitor.errors import ConfigError
from monitor.reports.config import ReportSettings, report_problems

ENV_PREFIX = "STORMWATCH_"
_SOURCE_ENV = ENV_PREFIX + "SOURCES__"
DEFAULT_CONFIG = "stormwatch.toml"
SOURCE_KINDS: tuple[str, ...] = ("feed", "wordpress", "discourse", "reddit", "html")
# Platform APIs (monitor/sources/<kind>.py, docs/SOURCES.md): what each needs configured.
API_KINDS = (
    "hackernews",
    "appstore",
    "mastodon",
    "bluesky",
    "trustpilot",
    "youtube",
    "x",
    "google_play",
    "facebook_page",
)
SOURCE_KINDS += API_KINDS
_API_NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "hackernews": (("terms",),),
    "appstore": (("app_id",), ("countries",)),
    "mastodon": (("terms", "tags"),),
    "bluesky": (("terms",), ("identifier",), ("app_password",)),
    "trustpilot": (("business_unit",), ("api_key",)),
    "youtube": (("api_key",), ("channel_id", "terms")),
    "x": (("terms",), ("token",)),
    "google_play": (("package_name",), ("token",)),
    "facebook_page": (("page_id",), ("token",)),
}
# Kinds that can push (monitor/push/): feeds through WebSub, Mastodon's hashtag streams,
# Facebook Page webhooks.
PUSH_KINDS = ("feed", "mastodon", "facebook_page")
SUPPORTED_LANGUAGES = ("da", "sv", "no", "nb", "nn", "en", "de", "fi")
MIN_WEBHOOK_SECRET = 16
_URL_WITH_PASSWORD = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@]*):(?P<pw>[^@/]*)@"
)


class Secret:
    """A string that never prints. ``str()``/``repr()`` give a masked form."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def masked(self) -> str:
        return mask_url(self._value) if "://" in self._value else "********"

    def __repr__(self) -> str:
        return f"Secret({self.masked()!r})"

    __str__ = masked

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def coerce(value: Any) -> Secret:
            return value if isinstance(value, Secret) else Secret(str(value))

        return core_schema.no_info_before_validator_function(
            coerce,
            core_schema.is_instance_schema(cls),
            serialization=core_schema.plain_serializer_function_ser_schema(lambda s: s.masked()),
        )


def mask_url(url: str) -> str:
    """Hide the password of a URL (``postgresql://u:pw@h/db`` -> ``postgresql://u:***@h/db``)
    and every query-string value, which is where tokens usually live."""
    masked = _URL_WITH_PASSWORD.sub(r"\g<scheme>\g<user>:***@", url)
    return re.sub(r"([?&][^=&#]+=)[^&#]*", r"\1***", masked)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: Secret = Secret("sqlite:///stormwatch.db")
    echo: bool = False
    busy_timeout_ms: int = Field(5000, ge=0)

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: Secret) -> Secret:
        if not value.reveal().startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite:// or postgresql:// (psycopg 3)")
        return value


class NetworkSettings(_Section):
    allow_private_networks: bool = False
    allowed_hosts: list[str] = Field(default_factory=list)
    user_agent: str = "Stormwatch/0.1 (+https://github.com/stormwatch/stormwatch; brand monitor)"
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(10.0, gt=0)
    deadline: float = Field(30.0, gt=0)
    max_bytes: int = Field(10 * 1024 * 1024, gt=0)
    max_redirects: int = Field(5, ge=0, le=20)
    min_host_interval: float = Field(1.0, ge=0)
    concurrency: int = Field(16, ge=1, le=256)

    @field_validator("allowed_hosts")
    @classmethod
    def _lower(cls, hosts: list[str]) -> list[str]:
        return [h.strip().lower() for h in hosts]


class CrawlSettings(_Section):
    default_interval: float = Field(900.0, ge=1)
    jitter: float = Field(0.1, ge=0, le=0.5)
    backoff_base: float = Field(60.0, gt=0)
    backoff_cap: float = Field(6 * 3600.0, gt=0)
    unhealthy_after: int = Field(3, ge=1)
    max_follow: int = Field(50, ge=0)
    languages: list[str] = Field(default_factory=lambda: ["da", "sv", "no", "en", "de", "fi"])
    keep_unmatched: bool = False
    # Worker processes that parse and match responses (monitor.stages.read); 0 = a thread here.
    parse_processes: int = Field(1, ge=0, le=16)

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, langs: list[str]) -> list[str]:
        unknown = [lang for lang in langs if lang not in SUPPORTED_LANGUAGES]
        if unknown:
            raise ValueError(f"unsupported {unknown}; supported: {', '.join(SUPPORTED_LANGUAGES)}")
        return langs


class BrandSettings(_Section):
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    excludes: list[str] = Field(default_factory=list)


class SourceSettings(_Section):
    name: str = Field(min_length=1)
    kind: Literal[
        "feed",
        "wordpress",
        "discourse",
        "reddit",
        "html",
        "hackernews",
        "appstore",
        "mastodon",
        "bluesky",
        "trustpilot",
        "youtube",
        "x",
        "google_play",
        "facebook_page",
    ]
    url: str
    interval: float | None = Field(None, ge=1)
    brand: str | None = None
    lang: str | None = None
    respect_robots: bool = True
    enabled: bool = True
    max_follow: int | None = Field(None, ge=0)
    # API kinds (docs/SOURCES.md): what to search for and the credentials. Secrets are
    # masked everywhere; set them from the environment: STORMWATCH_SOURCES__<NAME>__<KEY>.
    terms: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    app_id: str | None = Field(None, pattern=r"^[0-9]{1,20}$")
    countries: list[str] = Field(default_factory=list)
    business_unit: str | None = Field(None, pattern=r"^[A-Za-z0-9]{1,64}$")
    channel_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$")  # youtube
    package_name: str | None = Field(None, pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$")
    page_id: str | None = Field(None, pattern=r"^[0-9]{1,30}$")  # facebook_page
    identifier: str | None = None
    token: Secret | None = None
    api_key: Secret | None = None
    app_password: Secret | None = None
    # Push instead of waiting for the next poll (docs/push.md): a feed subscribes at the
    # hub it advertises (WebSub), a Mastodon source streams its hashtags, a Facebook Page
    # takes the page's webhooks. Polling goes on as the fallback and fills gaps.
    push: bool = False

    @model_validator(mode="after")
    def _api_needs(self) -> SourceSettings:
        for keys in _API_NEEDS.get(self.kind, ()):
            if not any(getattr(self, key) for key in keys):
                raise ValueError(f"kind {self.kind!r} needs {' or '.join(keys)}")
        if self.kind == "mastodon" and self.terms and self.token is None:
            raise ValueError("kind 'mastodon' needs a token to search terms (tags need none)")
        if self.push and self.kind not in PUSH_KINDS:
            raise ValueError(f"push: kind {self.kind!r} cannot push; kinds that can: {PUSH_KINDS}")
        if self.push and self.kind == "mastodon" and not self.tags:
            raise ValueError("push: a Mastodon source streams hashtags; give it tags")
        return self

    @field_validator("countries")
    @classmethod
    def _country_codes(cls, codes: list[str]) -> list[str]:
        bad = [c for c in codes if not re.fullmatch(r"[a-zA-Z]{2}", c)]
        if bad:
            raise ValueError(f"not two-letter country codes: {bad}")
        return [c.lower() for c in codes]

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError("must be an http:// or https:// URL")
        return url

    @field_validator("lang")
    @classmethod
    def _known_lang(cls, lang: str | None) -> str | None:
        if lang is not None and lang not in SUPPORTED_LANGUAGES:
            raise ValueError(f"unsupported language {lang!r}")
        return lang


class WebSettings(_Section):
    bind: str = "127.0.0.1:8080"
    # The address managers reach the UI at (acknowledge links in pages point here).
    public_url: str | None = None
    # Signs acknowledge links; set it (e.g. STORMWATCH_WEB__SECRET_KEY) so links survive
    # a restart. Unset: a random key per process.
    secret_key: Secret | None = None
    # Reverse proxies (addresses or networks) whose X-Forwarded-For and X-Forwarded-Proto
    # are believed. Empty: those headers are ignored and the peer is the client, so nobody
    # can dodge the login limit by inventing addresses.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Host names the UI answers to besides loopback names, public_url's host and IP
    # addresses; a request naming any other Host gets 400 (DNS rebinding).
    allowed_hosts: list[str] = Field(default_factory=list)
    # The signing secret of the PagerDuty webhook (v3) subscription that posts to
    # /hooks/pagerduty, so acknowledging in PagerDuty acknowledges here. Unset: no endpoint.
    pagerduty_webhook_secret: Secret | None = None

    @field_validator("trusted_proxies", "allowed_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """The environment gives one string: ``a,b`` is two entries."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"{proxy!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"
                ) from None
        return proxies

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            if not _is_host(host):
                raise ValueError(f"{host!r} is not a host name (give no scheme, port or path)")
        return [host.lower().strip("[]") for host in hosts]

    @field_validator("pagerduty_webhook_secret")
    @classmethod
    def _webhook_secret(cls, secret: Secret | None) -> Secret | None:
        """PagerDuty generates a long random secret; a short one is a placeholder."""
        if secret is None:
            return None
        value = secret.reveal()
        if value != value.strip() or len(value) < MIN_WEBHOOK_SECRET:
            raise ValueError(
                f"must be the subscription's signing secret as PagerDuty shows it (at least "
                f"{MIN_WEBHOOK_SECRET} characters, no surrounding spaces)"
            )
        return secret

    @field_validator("bind")
    @classmethod
    def _host_port(cls, bind: str) -> str:
        host, _, port = bind.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:8080")
        return bind


def _is_host(host: str) -> bool:
    """A DNS name or an IP address (IPv6 with or without brackets)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return bool(re.fullmatch(r"[A-Za-z0-9_.-]{1,253}", host))


class PushSettings(_Section):
    """Push endpoints and subscriptions (docs/push.md). The endpoints are public: they
    answer under ``[web] public_url`` and check every delivery's signature."""

    # Derives each WebSub subscription's hub.secret and callback token (HMAC): a restart
    # keeps them, and no secret is stored in the database. Needed when a feed pushes.
    secret: Secret | None = None
    # Asked of the hub; the hub may grant another. Renewed once this fraction is spent.
    lease_seconds: int = Field(7 * 86400, ge=300, le=365 * 86400)
    renew_at: float = Field(0.8, gt=0.0, lt=1.0)
    # A hub that never verifies within this long is given up on: the feed is polled.
    verify_within: float = Field(600.0, ge=10)
    # While a subscription is live its feed is polled this often (a safety net for a hub
    # that drops deliveries) instead of at its interval.
    poll_interval: float = Field(6 * 3600.0, ge=60)
    # Deliveries: the largest body read (larger ones are refused with 413) and how many
    # a second one client may send (a burst of ``burst``).
    # (at most the web UI's own cap on any request body, 1,000,000 bytes).
    max_body: int = Field(1_000_000, ge=1024, le=1_000_000)
    rate: float = Field(50.0, gt=0)
    burst: int = Field(200, ge=1)
    # Facebook Page webhooks: the app secret signs deliveries (X-Hub-Signature-256) and
    # the verify token is what the app's webhook settings were given.
    facebook_app_secret: Secret | None = None
    facebook_verify_token: Secret | None = None
    # Streams (Mastodon): waits between reconnects grow from base to cap.
    reconnect_base: float = Field(1.0, gt=0)
    reconnect_cap: float = Field(300.0, gt=0)


class QueueSettings(_Section):
    # A post enters the flagged-post queue when its complaint probability for a brand is at
    # least this. Why 0.5: the head is trained with a complaint weight that already favours
    # recall; a lower value floods the queue with "negative but not a complaint".
    flag_threshold: float = Field(default=0.5, ge=0.0, le=1.0)


class RunnerSettings(_Section):
    """How the pipeline is run: ``embedded`` (APScheduler in one process) or ``cluster``
    (any number of processes sharing the work through procrastinate on PostgreSQL)."""

    kind: Literal["embedded", "cluster"] = "embedded"
    # cluster: crawl jobs one process runs at once (each crawl is one source).
    concurrency: int = Field(8, ge=1, le=256)
    # cluster: a process silent for this long is taken for dead; its running jobs are
    # failed so their locks (a host, the outbox, the detector) are freed for the others.
    stalled_after: float = Field(60.0, ge=5)


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "text"] = "json"


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    network: NetworkSettings = NetworkSettings()
    crawl: CrawlSettings = CrawlSettings()
    log: LogSettings = LogSettings()
    web: WebSettings = WebSettings()
    queue: QueueSettings = QueueSettings()
    runner: RunnerSettings = RunnerSettings()
    push: PushSettings = PushSettings()
    brands: list[BrandSettings] = Field(default_factory=list)
    sources: list[SourceSettings] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)
    oncall: OncallConfig = Field(default_factory=OncallConfig)
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)
    classifier: ClassifierSettings = Field(default_factory=ClassifierSettings)
    reports: list[ReportSettings] = Field(default_factory=list)

    def alerts(self) -> AlertsConfig:
        """The alerts package's view: channels, on-call and outbox (cross-checked)."""
        return AlertsConfig(channels=self.channels, oncall=self.oncall, outbox=self.outbox)

    def source(self, name: str) -> SourceSettings:
        found = self._sources_by_name.get(name)
        if found is None:
            raise ConfigError([f"sources: no source named {name!r}"])
        return found

    @functools.cached_property
    def _sources_by_name(self) -> dict[str, SourceSettings]:
        return {source.name: source for source in self.sources}


def cross_check(raw: dict[str, Any]) -> list[str]:
    """Problems that span keys (duplicate names, unknown brand references), checked on the
    raw data so they are reported together with field errors, not after them."""
    problems: list[str] = []
    for section in ("brands", "sources", "channels"):
        seen: set[str] = set()
        for i, item in enumerate(_tables(raw.get(section))):
            name = item.get("name")
            if isinstance(name, str) and name in seen:
                problems.append(f"{section}.{i}.name: duplicate name {name!r}")
            seen.add(str(name))
    brands = {item.get("name") for item in _tables(raw.get("brands"))}
    for i, source in enumerate(_tables(raw.get("sources"))):
        brand = source.get("brand")
        if brand is not None and brand not in brands:
            problems.append(f"sources.{i}.brand: unknown brand {brand!r} (not in [[brands]])")
    return problems + report_problems(raw) + _cluster_problems(raw) + _push_problems(raw)


def _push_problems(raw: dict[str, Any]) -> list[str]:
    """A pushing source needs what its endpoint or subscription needs: hubs and Facebook
    call ``[web] public_url``, WebSub derives its secrets from ``[push] secret``, Facebook
    deliveries are checked with the app secret and verified with the verify token."""
    push, web = _table(raw.get("push")), _table(raw.get("web"))
    kinds = {str(s.get("kind")) for s in _tables(raw.get("sources")) if s.get("push") is True}
    problems = []
    public = kinds & {"feed", "facebook_page"}
    if public and not web.get("public_url"):
        problems.append(
            "web.public_url: push endpoints are called from outside; set the address "
            f"hubs and platforms reach this server at (pushing kinds: {sorted(public)})"
        )
    if "feed" in kinds and not push.get("secret"):
        problems.append("push.secret: a feed with push = true needs it (WebSub hub.secret)")
    for key in ("facebook_app_secret", "facebook_verify_token"):
        if "facebook_page" in kinds and not push.get(key):
            problems.append(f"push.{key}: a facebook_page source with push = true needs it")
    return problems


def _cluster_problems(raw: dict[str, Any]) -> list[str]:
    """Cluster mode keeps its job queue in the database and runs on several machines."""
    runner, database, web = (_table(raw.get(k)) for k in ("runner", "database", "web"))
    if runner.get("kind") != "cluster":
        return []
    problems = []
    url = str(database.get("url", DatabaseSettings().url.reveal()))
    if not url.startswith(("postgresql://", "postgresql+psycopg://")):
        problems.append(
            "runner.kind: cluster mode needs a PostgreSQL [database] url "
            "(the processes share their job queue there)"
        )
    if not web.get("secret_key"):
        problems.append(
            "runner.kind: cluster mode needs [web] secret_key (set it, e.g. from "
            "STORMWATCH_WEB__SECRET_KEY, to the same value on every machine so an "
            "acknowledge link sent by one process works on all)"
        )
    return problems


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tables(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read, overlay the environment, validate. Raises ConfigError with every problem."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    where: str | None = None
    if path is not None:
        where = str(path)
        raw = _read_toml(Path(path))
    problems: list[str] = []
    from_env = _overlay_env(raw, environ, problems)
    _overlay_source_env(raw, environ, problems)
    return parse_settings(raw, where, problems, from_env)


def parse_settings(
    raw: dict[str, Any],
    where: str | None = None,
    problems: list[str] | None = None,
    from_env: Mapping[tuple[str, str], str] | None = None,
) -> Settings:
    """Validate ``raw``; ``from_env`` maps (section, key) to the variable that set it, so a
    problem there names the variable rather than the file."""
    problems = list(problems or []) + cross_check(raw)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        problems += [_describe(err, from_env or {}) for err in exc.errors()]
    else:  # references between channels, people, schedules and policies, one line each
        problems += reference_problems(
            AlertsConfig.model_construct(
                channels=settings.channels, oncall=settings.oncall, outbox=settings.outbox
            )
        )
    if problems:
        if from_env and any(f"({name})" in p for p in problems for name in from_env.values()):
            where = f"{where} and the environment" if where else "the environment"
        raise ConfigError(problems, where)
    return settings


def warnings_of(settings: Settings) -> list[str]:
    """Valid but probably not meant: a config that watches nothing."""
    found = []
    if not settings.brands:
        found.append("brands: none configured, so no post can match: nothing is watched")
    if not settings.sources:
        found.append("sources: none configured, so nothing is crawled")
    return found


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: file not found (create one with `stormwatch init`)"], str(path)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"], str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"], str(path)) from None


def _overlay_env(
    raw: dict[str, Any], environ: Mapping[str, str], problems: list[str]
) -> dict[tuple[str, str], str]:
    """``STORMWATCH_DATABASE__URL=...`` sets ``raw["database"]["url"]``. Only scalar keys of
    table sections can be set this way (lists of tables such as [[sources]] cannot).
    Returns which variable set which (section, key)."""
    from_env: dict[tuple[str, str], str] = {}
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        if name.startswith(_SOURCE_ENV):  # [[sources]] entries: _overlay_source_env
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        table = raw.setdefault(section, {})
        if not isinstance(table, dict):
            problems.append(f"{name}: [{section}] is not a table, cannot set {key!r} there")
            continue
        table[key] = value
        from_env[(section, key)] = name
    return from_env


def _overlay_source_env(
    raw: dict[str, Any], environ: Mapping[str, str], problems: list[str]
) -> None:
    """``STORMWATCH_SOURCES__<NAME>__<KEY>=...`` sets a key of the [[sources]] entry named
    NAME (compared without case, ``-`` and ``.`` read as ``_``): credentials of API
    sources stay out of the file. Names that match no source are reported."""
    prefix = _SOURCE_ENV
    sources = _tables(raw.get("sources"))
    by_name = {_env_name(str(s.get("name", ""))): s for s in sources}
    for name, value in sorted(environ.items()):
        source_name, sep, key = name[len(prefix) :].rpartition("__")
        if not name.startswith(prefix) or not sep:
            continue
        target = by_name.get(source_name.lower())
        if target is None:
            problems.append(f"{name}: no [[sources]] entry named {source_name.lower()!r}")
            continue
        target[key.lower()] = value


def _env_name(name: str) -> str:
    return re.sub(r"[-.\s]", "_", name).lower()


def _describe(err: Any, from_env: Mapping[tuple[str, str], str]) -> str:
    loc = [str(part) for part in err["loc"]]
    path = ".".join(loc) or "(top level)"
    variable = from_env.get((loc[0], loc[1])) if len(loc) >= 2 else None
    if variable:
        path = f"{path} ({variable})"
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if err["type"] == "extra_forbidden":
        message = "unknown key (check the spelling against config/stormwatch.example.toml)"
    return f"{path}: {message}"
