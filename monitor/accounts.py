"""Accounts of the web UI: users, passwords, server-side sessions, login rate limiting.

Rate limiting is per (user name, client address) with growing delays, plus a cap per
address over all names; never per user alone, which would let anyone who knows a name
lock its owner out.

Functions take a sqlmodel Session and plain values and never commit (the caller's
``session_scope`` is the transaction), with one deliberate exception: a refused login
commits the failure it records before raising ``LoginRefused``, because the caller's
transaction rolls back on that exception and a forgotten failure would defeat the rate
limit. Time is always passed in.

Secrets: passwords are hashed with argon2id; the cookie holds a random token and only its
SHA-256 is stored (``WebSession.id``). Neither a password nor a token ever appears in an
exception, a log line or a repr.

Tests may swap the hasher for a cheaper one (the default is deliberately slow)::

    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from monitor.clock import ZoneError, parse_zone
from monitor.errors import AccountError, LoginRefused
from monitor.storage.models import LANGUAGES, ROLES, LoginFailure, User, WebSession

__all__ = [
    "HASHER",
    "PERMISSIONS",
    "AccountPolicy",
    "Principal",
    "add_user",
    "check_csrf",
    "disable_user",
    "hash_password",
    "list_sessions",
    "list_users",
    "login",
    "logout",
    "pair_delay",
    "prune",
    "resolve_session",
    "revoke_sessions",
    "set_language",
    "set_password",
    "set_role",
    "set_timezone",
    "token_id",
    "verify_password",
]

HASHER = PasswordHasher()  # argon2id with argon2-cffi's recommended parameters
MAX_NAME_LENGTH = 200  # users.name
MAX_CLIENT_LENGTH = 200  # web_sessions.client
MAX_PASSWORD_LENGTH = 1024  # longer input is refused without hashing (no CPU burn)
MAX_TOKEN_LENGTH = 256  # a cookie longer than this is not one of ours
LAST_SEEN_RESOLUTION = timedelta(minutes=1)  # at most one write a minute per session
_KEY_ADDRESS_LENGTH = 64  # an IPv6 address with a zone fits; the key column holds 300
_MAX_COUNTED = 64  # failures of one pair read back; the delay is at its cap long before
_MAX_DOUBLINGS = 32  # 2 s * 2**32 is far past any cap: no giant integers

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "viewer": ("read",),
    "manager": ("read", "triage"),
    "admin": ("read", "triage", "admin"),
}


@dataclass(frozen=True)
class AccountPolicy:
    min_password_length: int = 12
    idle_timeout: timedelta = timedelta(hours=12)  # session unused this long -> invalid
    absolute_timeout: timedelta = timedelta(days=7)  # session older than this -> invalid
    # Per (user name, client address): after this many wrong passwords the pair waits
    # first_delay before its next try, doubled by each further one, up to max_delay. Never
    # a lockout of the user as such: a guesser elsewhere cannot keep her out.
    free_failures: int = 3
    first_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(minutes=15)
    max_failures_per_client: int = 20  # any names, within failure_window
    failure_window: timedelta = timedelta(minutes=15)
    dead_session_retention: timedelta = timedelta(days=1)  # prune() keeps dead ones this long


@dataclass(frozen=True)
class Principal:
    """Who is making a request. The CSRF token and session id are kept out of the repr."""

    user_id: int
    name: str
    role: str
    session_id: str = field(repr=False)  # the stored sha256 id, never the raw token
    csrf_token: str = field(repr=False)
    timezone: str | None = None  # the zone the user chose for pages; None: the default
    language: str | None = None  # the language the user chose for pages; None: the browser's

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, ())


# --- passwords ------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; False (never an exception) otherwise."""
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError, TypeError, ValueError):
        return False


_dummy: dict[int, str] = {}


def _dummy_hash() -> str:
    """A hash made with the current hasher, verified for unknown names so that a login
    for a name that does not exist takes as long as one with a wrong password."""
    key = id(HASHER)
    if key not in _dummy:
        _dummy.clear()
        _dummy[key] = HASHER.hash(secrets.token_urlsafe(16))
    return _dummy[key]


def _check_password(password: str, policy: AccountPolicy) -> None:
    if len(password) < policy.min_password_length:
        raise AccountError(
            f"password too short: use at least {policy.min_password_length} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"password too long: use at most {MAX_PASSWORD_LENGTH} characters")


# --- users ----------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if not name or not name.strip():
        raise AccountError("user name is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise AccountError(f"user name too long: use at most {MAX_NAME_LENGTH} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise AccountError("user name contains control characters")
    if name != name.strip():
        raise AccountError("user name starts or ends with a space")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")


def _user(session: Session, name: str) -> User | None:
    return session.exec(select(User).where(col(User.name) == name)).first()


def _existing_user(session: Session, name: str) -> User:
    user = _user(session, name)
    if user is None:
        raise AccountError(f"no user named {name!r}")
    return user


def _check_zone(zone: str | None) -> str | None:
    """The zone name as stored: a known IANA name, or None (blank) for the default."""
    if zone is None or not zone.strip():
        return None
    try:
        return parse_zone(zone).key
    except ZoneError as error:
        raise AccountError(str(error)) from None


def _check_language(language: str | None) -> str | None:
    """The language as stored: one pages are translated into, or None (blank) for the
    browser's."""
    if language is None or not language.strip():
        return None
    if language.strip() not in LANGUAGES:
        raise AccountError(
            f"unknown language {language.strip()[:20]!r}: use one of {', '.join(LANGUAGES)}"
        )
    return language.strip()


def add_user(
    session: Session,
    name: str,
    role: str,
    password: str,
    now: datetime,
    policy: AccountPolicy = AccountPolicy(),
    timezone: str | None = None,
) -> User:
    """A new enabled user. AccountError for a bad name, role, password, zone or a taken
    name."""
    _check_name(name)
    _check_role(role)
    _check_password(password, policy)
    zone = _check_zone(timezone)
    if _user(session, name) is not None:
        raise AccountError(f"user {name!r} already exists")
    user = User(
        name=name,
        role=role,
        password_hash=hash_password(password),
        created_at=now,
        timezone=zone,
    )
    session.add(user)
    try:
        session.flush()
    except sa.exc.IntegrityError:  # a concurrent add of the same name won the race
        raise AccountError(f"user {name!r} already exists") from None
    return user


def set_password(
    session: Session,
    name: str,
    password: str,
    now: datetime,
    policy: AccountPolicy = AccountPolicy(),
) -> None:
    """Change the password and sign the user out everywhere (old sessions are revoked)."""
    _check_password(password, policy)
    user = _existing_user(session, name)
    user.password_hash = hash_password(password)
    session.add(user)
    _revoke_all(session, _id(user), now)


def set_role(session: Session, name: str, role: str) -> None:
    """Takes effect on the user's next request (sessions read the role from the user)."""
    _check_role(role)
    user = _existing_user(session, name)
    user.role = role
    session.add(user)


def set_timezone(session: Session, name: str, zone: str | None) -> str | None:
    """The zone pages show this user's times in (an IANA name); blank or None goes back to
    the default. Returns what is stored. Applies from the user's next request."""
    user = _existing_user(session, name)
    user.timezone = _check_zone(zone)
    session.add(user)
    return user.timezone


def set_language(session: Session, name: str, language: str | None) -> str | None:
    """The language this user's pages are in (``da``, ``sv``, ``nb``, ``fi``, ``de`` or
    ``en``); blank or None goes back to the browser's. Returns what is stored."""
    user = _existing_user(session, name)
    user.language = _check_language(language)
    session.add(user)
    return user.language


def disable_user(session: Session, name: str, now: datetime) -> int:
    """Disable the user and revoke all its sessions; returns how many were revoked."""
    user = _existing_user(session, name)
    user.disabled = True
    session.add(user)
    return _revoke_all(session, _id(user), now)


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.name))).all())


def _id(user: User) -> int:
    assert user.id is not None, "user not flushed"
    return user.id


# --- login and rate limiting ----------------------------------------------------------------


def login(
    session: Session,
    name: str,
    password: str,
    client: str | None,
    now: datetime,
    policy: AccountPolicy = AccountPolicy(),
) -> tuple[str, Principal]:
    """A new session for a correct name and password: ``(raw cookie token, principal)``.

    Refusals (``LoginRefused``): ``rate_limited`` while this (name, client) pair waits out
    its growing delay or the client has too many recent failures for any names — checked
    before the password, so even the right one is refused, but only from that address —
    and ``bad_credentials`` for an unknown name, a disabled user or a wrong password (one
    message for all three, and a dummy hash is verified for unknown names so timing does
    not tell them apart). Each failure is recorded per pair and per client, and committed.
    """
    pair, by_client = _failure_keys(name, client)
    _refuse_if_limited(session, pair, by_client, now, policy)
    user = _user(session, name) if len(name) <= MAX_NAME_LENGTH else None
    if not _password_ok(user, password):
        _record_failure(session, [key for key in (pair, by_client) if key], now)
        raise LoginRefused("bad_credentials")
    assert user is not None
    _clear_failures(session, pair)
    _rehash_if_needed(session, user, password)
    return _new_session(session, user, client, now, policy)


def _failure_keys(name: str, client: str | None) -> tuple[str, str | None]:
    """``pair:ADDRESS|NAME`` and ``client:ADDRESS`` (None without an address)."""
    address = client[:_KEY_ADDRESS_LENGTH] if client else None
    pair = f"pair:{address or '-'}|{name[:MAX_NAME_LENGTH]}"
    return pair, f"client:{address}" if address else None


def _refuse_if_limited(
    session: Session, pair: str, by_client: str | None, now: datetime, policy: AccountPolicy
) -> None:
    waits = [_pair_wait(session, pair, now, policy)]
    if by_client:
        waits.append(_client_wait(session, by_client, now, policy))
    longest = max((w for w in waits if w is not None), default=None)
    if longest is not None:
        raise LoginRefused("rate_limited", retry_after=longest)


def _recent(
    session: Session, key: str, now: datetime, policy: AccountPolicy, limit: int
) -> list[datetime]:
    """The newest ``limit`` failures of ``key`` within the window, newest first."""
    return list(
        session.exec(
            select(LoginFailure.at)
            .where(col(LoginFailure.key) == key, col(LoginFailure.at) > now - policy.failure_window)
            .order_by(col(LoginFailure.at).desc())
            .limit(limit)
        ).all()
    )


def pair_delay(failures: int, policy: AccountPolicy) -> timedelta:
    """How long a (name, client) pair waits after its ``failures``-th recent failure."""
    extra = failures - policy.free_failures
    if extra < 0:
        return timedelta(0)
    return min(policy.max_delay, policy.first_delay * 2 ** min(extra, _MAX_DOUBLINGS))


def _pair_wait(session: Session, key: str, now: datetime, policy: AccountPolicy) -> float | None:
    recent = _recent(session, key, now, policy, _MAX_COUNTED)
    if not recent:
        return None
    wait = (recent[0] + pair_delay(len(recent), policy) - now).total_seconds()
    return float(math.ceil(wait)) if wait > 0 else None


def _client_wait(session: Session, key: str, now: datetime, policy: AccountPolicy) -> float | None:
    """Seconds until the client has fewer than its limit of failures in the window; None
    if it already has. The limit lifts when the limit-th newest failure leaves."""
    limit = policy.max_failures_per_client
    recent = _recent(session, key, now, policy, limit)
    if limit <= 0 or len(recent) < limit:
        return None
    return max(1.0, (recent[-1] + policy.failure_window - now).total_seconds())


def _password_ok(user: User | None, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    if user is None:
        verify_password(_dummy_hash(), password)
        return False
    matches = verify_password(user.password_hash, password)
    return matches and not user.disabled


def _record_failure(session: Session, keys: list[str], now: datetime) -> None:
    """Committed at once: the caller's transaction rolls back on the LoginRefused that
    follows, and the rate limit must still see this failure."""
    session.add_all([LoginFailure(key=key, at=now) for key in keys])
    session.commit()


def _clear_failures(session: Session, key: str) -> None:
    session.execute(sa.delete(LoginFailure).where(col(LoginFailure.key) == key))


def _rehash_if_needed(session: Session, user: User, password: str) -> None:
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)


def _new_session(
    session: Session, user: User, client: str | None, now: datetime, policy: AccountPolicy
) -> tuple[str, Principal]:
    """Always a fresh random token (no session fixation: a token the client sent is never
    reused)."""
    token = secrets.token_urlsafe(32)
    row = WebSession(
        id=token_id(token),
        user_id=_id(user),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.absolute_timeout,
        client=client[:MAX_CLIENT_LENGTH] if client else None,
    )
    session.add(row)
    session.flush()
    return token, _principal(user, row)


def token_id(token: str) -> str:
    """The stored id of a cookie token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _principal(user: User, row: WebSession) -> Principal:
    return Principal(
        _id(user), user.name, user.role, row.id, row.csrf_token, user.timezone, user.language
    )


# --- sessions -------------------------------------------------------------------------------


def resolve_session(
    session: Session, token: str | None, now: datetime, policy: AccountPolicy = AccountPolicy()
) -> Principal | None:
    """The principal behind a cookie token, or None when the token is missing, unknown,
    revoked, expired (idle or absolute) or its user is disabled. Refreshes ``last_seen_at``
    at most once every LAST_SEEN_RESOLUTION."""
    row = _session_row(session, token)
    if row is None or not _alive(row, now, policy):
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
        session.add(row)
    return _principal(user, row)


def _session_row(session: Session, token: str | None) -> WebSession | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return session.get(WebSession, token_id(token))


def _alive(row: WebSession, now: datetime, policy: AccountPolicy) -> bool:
    return (
        row.revoked_at is None
        and now < row.expires_at
        and now - row.created_at < policy.absolute_timeout
        and now - row.last_seen_at < policy.idle_timeout
    )


def logout(session: Session, token: str, now: datetime) -> None:
    """Revoke the session of this token (nothing happens for an unknown one)."""
    row = _session_row(session, token)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        session.add(row)


def revoke_sessions(session: Session, name: str, now: datetime) -> int:
    """Revoke every live session of a user; returns how many."""
    return _revoke_all(session, _id(_existing_user(session, name)), now)


def _revoke_all(session: Session, user_id: int, now: datetime) -> int:
    result = session.execute(
        sa.update(WebSession)
        .where(col(WebSession.user_id) == user_id, col(WebSession.revoked_at).is_(None))
        .where(col(WebSession.expires_at) > now)
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def list_sessions(
    session: Session, name: str | None, now: datetime, policy: AccountPolicy = AccountPolicy()
) -> list[WebSession]:
    """Live sessions (of one user, or of everyone), most recently used first."""
    query = select(WebSession).where(
        col(WebSession.revoked_at).is_(None),
        col(WebSession.expires_at) > now,
        col(WebSession.created_at) > now - policy.absolute_timeout,
        col(WebSession.last_seen_at) > now - policy.idle_timeout,
    )
    if name is not None:
        query = query.where(col(WebSession.user_id) == _id(_existing_user(session, name)))
    return list(session.exec(query.order_by(col(WebSession.last_seen_at).desc())).all())


def check_csrf(principal: Principal, token: str | None) -> bool:
    """Constant-time comparison of a submitted CSRF token with the session's."""
    if not token or not principal.csrf_token:
        return False
    return hmac.compare_digest(principal.csrf_token.encode(), token.encode())


def prune(session: Session, now: datetime, policy: AccountPolicy = AccountPolicy()) -> int:
    """Delete failures older than the window and sessions dead (revoked, expired or idle)
    for longer than ``dead_session_retention``; returns rows deleted."""
    failures = session.execute(
        sa.delete(LoginFailure).where(col(LoginFailure.at) <= now - policy.failure_window)
    )
    cutoff = now - policy.dead_session_retention
    sessions = session.execute(
        sa.delete(WebSession)
        .where(
            sa.or_(
                col(WebSession.revoked_at) <= cutoff,
                col(WebSession.expires_at) <= cutoff,
                col(WebSession.last_seen_at) <= cutoff - policy.idle_timeout,
            )
        )
        .execution_options(synchronize_session="fetch")
    )
    return sum(int(getattr(r, "rowcount", 0) or 0) for r in (failures, sessions))
