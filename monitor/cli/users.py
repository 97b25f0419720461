"""``stormwatch user``: accounts of the web UI (add, list, disable, passwd, role, sessions,
revoke).

Like ``stormwatch classify``, these commands work without a settings file (embedded
defaults and ``STORMWATCH_*`` variables).

Passwords are never echoed or logged: typed at a hidden prompt, read from stdin with
``--password-stdin``, or — when stdin is not a terminal — generated and printed once.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlmodel import Session

from monitor import accounts
from monitor.cli.common import (
    ConfigOpt,
    JsonOpt,
    migrated_engine,
    settings_or_defaults,
    user_errors,
)
from monitor.cli.output import iso, out, print_json, print_table, utc
from monitor.clock import parse_zone, utcnow
from monitor.errors import AccountError
from monitor.storage.db import session_scope
from monitor.storage.models import ROLES

user_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    short_help="Web UI accounts and login sessions.",
    help="Web UI accounts: add, list, disable, passwords, roles and login sessions.",
)

NameArg = Annotated[str, typer.Argument(help="User name.")]
StdinOpt = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]
GENERATED_PASSWORD_BYTES = 18  # 24 URL-safe characters, ~144 bits
T = TypeVar("T")


def _in_transaction(config: Path | None, fn: Callable[[Session], T]) -> T:
    """Run ``fn(session)`` in one transaction on the configured (migrated) database."""
    engine = migrated_engine(settings_or_defaults(config))
    try:
        with session_scope(engine) as session:
            return fn(session)
    finally:
        engine.dispose()


def _say(text: str) -> None:
    out.print(text)


def _stdin_is_tty() -> bool:
    return sys.stdin.isatty()


def _read_password(from_stdin: bool) -> tuple[str, bool]:
    """``(password, generated)``: from stdin, a hidden prompt typed twice, or generated
    when there is no terminal to prompt on."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise AccountError("--password-stdin: stdin held no password")
        return password, False
    if _stdin_is_tty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True)), False
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES), True


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")


ZoneOpt = Annotated[
    str | None,
    typer.Option(
        "--timezone",
        help="IANA zone the web pages show this user's times in (default: the on-call "
        "schedule's, else the browser's); the user can change it on the settings page.",
    ),
]


@user_app.command("add")
def user_add(
    name: NameArg,
    role: Annotated[str, typer.Option("--role", help="viewer, manager or admin.")],
    password_stdin: StdinOpt = False,
    timezone: ZoneOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create a user. Without --password-stdin the password is prompted for (hidden), or
    generated and printed once when stdin is not a terminal."""
    with user_errors():
        _check_role(role)  # before asking for a password that would be thrown away
        if timezone:
            parse_zone(timezone)  # likewise
        password, generated = _read_password(password_stdin)
        _in_transaction(
            config,
            lambda s: accounts.add_user(
                s, name, role, password, utcnow(), timezone=timezone or None
            ),
        )
    _say(f"added {name} ({role})")
    if generated:
        _say(f"generated password (shown only now): {password}")


@user_app.command("list")
def user_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Every user with its role and whether it is disabled."""
    with user_errors():
        rows = _in_transaction(config, lambda s: [_user_dict(u) for u in accounts.list_users(s)])
    if as_json:
        for row in rows:
            print_json(row)
        return
    table = [
        [
            r["name"],
            r["role"],
            "disabled" if r["disabled"] else "active",
            r["timezone"] or "default",
            utc(r["created_at"]),
        ]
        for r in rows
    ]
    print_table(("name", "role", "status", "time zone", "created"), table)


def _user_dict(user: Any) -> dict[str, Any]:
    """What is shown of a user: never the password hash."""
    return {
        "name": user.name,
        "role": user.role,
        "disabled": bool(user.disabled),
        "timezone": user.timezone,
        "created_at": iso(user.created_at),
    }


@user_app.command("disable")
def user_disable(name: NameArg, config: ConfigOpt = None) -> None:
    """Disable a user and sign it out everywhere."""
    with user_errors():
        revoked = _in_transaction(config, lambda s: accounts.disable_user(s, name, utcnow()))
    _say(f"disabled {name}; revoked {revoked} session(s)")


@user_app.command("passwd")
def user_passwd(name: NameArg, password_stdin: StdinOpt = False, config: ConfigOpt = None) -> None:
    """Set a new password (the user's sessions are signed out)."""
    with user_errors():
        password, generated = _read_password(password_stdin)
        _in_transaction(config, lambda s: accounts.set_password(s, name, password, utcnow()))
    _say(f"password changed for {name}; its sessions were signed out")
    if generated:
        _say(f"generated password (shown only now): {password}")


@user_app.command("role")
def user_role(
    name: NameArg,
    role: Annotated[str, typer.Argument(help="viewer, manager or admin.")],
    config: ConfigOpt = None,
) -> None:
    """Change a user's role (applies from its next request)."""
    with user_errors():
        _in_transaction(config, lambda s: accounts.set_role(s, name, role))
    _say(f"{name} is now {role}")


@user_app.command("sessions")
def user_sessions(
    name: Annotated[str | None, typer.Argument(help="Only this user's sessions.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Live login sessions, most recently used first."""
    with user_errors():
        rows = _in_transaction(config, lambda s: _session_dicts(s, name, utcnow()))
    if as_json:
        for row in rows:
            print_json(row)
        return
    columns = ("user", "session", "client", "created", "last seen", "expires")
    table = [
        [
            r["user"],
            r["session"],
            r["client"] or "-",
            utc(r["created_at"]),
            utc(r["last_seen_at"]),
            utc(r["expires_at"]),
        ]
        for r in rows
    ]
    print_table(columns, table)


def _session_dicts(session: Session, name: str | None, now: datetime) -> list[dict[str, Any]]:
    """Sessions as shown: a short prefix of the stored hash identifies one; the CSRF token
    is never shown."""
    names = {u.id: u.name for u in accounts.list_users(session)}
    return [
        {
            "user": names.get(row.user_id, "?"),
            "session": row.id[:12],
            "client": row.client,
            "created_at": iso(row.created_at),
            "last_seen_at": iso(row.last_seen_at),
            "expires_at": iso(row.expires_at),
        }
        for row in accounts.list_sessions(session, name, now)
    ]


@user_app.command("revoke")
def user_revoke(name: NameArg, config: ConfigOpt = None) -> None:
    """Sign a user out everywhere (revoke all its sessions)."""
    with user_errors():
        revoked = _in_transaction(config, lambda s: accounts.revoke_sessions(s, name, utcnow()))
    _say(f"revoked {revoked} session(s) of {name}")
