"""Accounts: passwords, users, login with rate limiting, server-side sessions — on SQLite
and PostgreSQL, with an injected clock (no sleeping)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, col, select

from monitor import accounts
from monitor.accounts import AccountPolicy, Principal
from monitor.errors import AccountError, LoginRefused, StormwatchError
from monitor.storage.db import session_scope
from monitor.storage.models import LoginFailure, User, WebSession
from tests.support.fixtures.clock import T0

PASSWORD = "correct horse battery"
POLICY = AccountPolicy()
FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
DEFAULT_HASHER = accounts.HASHER  # before the autouse fixture swaps it
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def fast_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented test override: a cheap argon2id hasher keeps the suite fast."""
    monkeypatch.setattr(accounts, "HASHER", FAST)


def make_user(engine: Engine, name: str = "alice", role: str = "manager") -> None:
    with session_scope(engine) as s:
        accounts.add_user(s, name, role, PASSWORD, T0)


def attempt(
    engine: Engine, name: str = "alice", password: str = PASSWORD, client: str | None = "10.0.0.1",
    at: Any = T0,
) -> tuple[str, Principal]:  # fmt: skip
    with session_scope(engine) as s:
        return accounts.login(s, name, password, client, at, POLICY)


def resolve(engine: Engine, token: str | None, at: Any) -> Principal | None:
    with session_scope(engine) as s:
        return accounts.resolve_session(s, token, at, POLICY)


def refusal(engine: Engine, **kw: Any) -> LoginRefused:
    with pytest.raises(LoginRefused) as caught:
        attempt(engine, **kw)
    return caught.value


def failures(engine: Engine, key: str) -> int:
    with session_scope(engine) as s:
        return len(s.exec(select(LoginFailure).where(col(LoginFailure.key) == key)).all())


# --- passwords ------------------------------------------------------------------------------


def test_hash_is_salted_argon2id_and_verifies_only_the_right_password() -> None:
    first, second = accounts.hash_password(PASSWORD), accounts.hash_password(PASSWORD)
    assert first.startswith("$argon2id$")
    assert PASSWORD not in first
    assert first != second  # a fresh salt each time
    assert accounts.verify_password(first, PASSWORD)
    assert not accounts.verify_password(first, PASSWORD + "!")


@pytest.mark.parametrize("bad_hash", ["", "not a hash", "$argon2id$v=19$m=64,t=1,p=1$xx$yy"])
def test_verify_never_raises_on_a_malformed_hash(bad_hash: str) -> None:
    assert accounts.verify_password(bad_hash, PASSWORD) is False


def test_default_hasher_is_argon2id_with_the_recommended_cost() -> None:
    from argon2 import Type

    assert DEFAULT_HASHER.type is Type.ID
    assert DEFAULT_HASHER.memory_cost >= PasswordHasher().memory_cost


# --- users ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "role", "password", "says"),
    [
        ("", "viewer", PASSWORD, "empty"),
        ("   ", "viewer", PASSWORD, "empty"),
        ("x" * 201, "viewer", PASSWORD, "too long"),
        ("ali\x00ce", "viewer", PASSWORD, "control"),
        ("alice\n", "viewer", PASSWORD, "control"),
        ("ali\u200bce", "viewer", PASSWORD, "control"),  # zero-width space (format char)
        (" alice", "viewer", PASSWORD, "space"),
        ("alice", "root", PASSWORD, "unknown role"),
        ("alice", "viewer", "short-pass1", "too short"),
    ],
)
def test_add_user_refuses_bad_input(
    sqlite_engine: Engine, name: str, role: str, password: str, says: str
) -> None:
    with pytest.raises(AccountError, match=says) as caught, session_scope(sqlite_engine) as s:
        accounts.add_user(s, name, role, password, T0)
    assert password not in str(caught.value)
    with session_scope(sqlite_engine) as s:
        assert accounts.list_users(s) == []


def test_add_user_refuses_a_taken_name_and_honours_the_policy_length(any_engine: Engine) -> None:
    make_user(any_engine)
    with pytest.raises(AccountError, match="already exists"), session_scope(any_engine) as s:
        accounts.add_user(s, "alice", "viewer", PASSWORD, T0)
    with session_scope(any_engine) as s:
        strict = AccountPolicy(min_password_length=len(PASSWORD) + 1)
        with pytest.raises(AccountError, match="too short"):
            accounts.add_user(s, "bob", "viewer", PASSWORD, T0, strict)
        users = accounts.list_users(s)
    assert [(u.name, u.role, u.disabled) for u in users] == [("alice", "manager", False)]
    assert users[0].created_at == T0


def test_account_errors_are_stormwatch_errors() -> None:
    assert issubclass(LoginRefused, AccountError)
    assert issubclass(AccountError, StormwatchError)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("viewer", {"read"}),
        ("manager", {"read", "triage"}),
        ("admin", {"read", "triage", "admin"}),
        ("nobody", set()),
    ],
)
def test_permissions_per_role(role: str, allowed: set[str]) -> None:
    who = Principal(1, "u", role, "sid", "csrf")
    assert {p for p in ("read", "triage", "admin", "delete") if who.can(p)} == allowed


def test_principal_repr_hides_session_id_and_csrf_token() -> None:
    text = repr(Principal(1, "u", "viewer", "the-session-id", "the-csrf-token"))
    assert "the-session-id" not in text
    assert "the-csrf-token" not in text
    assert "'u'" in text


# --- login ----------------------------------------------------------------------------------


def test_login_returns_a_token_and_a_principal_with_the_users_role(any_engine: Engine) -> None:
    make_user(any_engine, "alice", "admin")
    token, who = attempt(any_engine)
    assert (who.name, who.role) == ("alice", "admin")
    assert who.can("admin")
    assert who.session_id == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) >= 43
    assert len(who.csrf_token) >= 43
    assert resolve(any_engine, token, T0) == who


def test_unknown_user_disabled_user_and_wrong_password_are_refused_alike(
    any_engine: Engine,
) -> None:
    make_user(any_engine, "alice")
    make_user(any_engine, "carol")
    with session_scope(any_engine) as s:
        accounts.disable_user(s, "carol", T0)
    wrong = refusal(any_engine, name="alice", password="wrong password!")
    unknown = refusal(any_engine, name="mallory", password=PASSWORD)
    disabled = refusal(any_engine, name="carol", password=PASSWORD)
    assert {(e.reason, str(e), e.retry_after) for e in (wrong, unknown, disabled)} == {
        ("bad_credentials", "wrong user name or password", None)
    }


def test_unknown_user_still_costs_a_password_verification(
    any_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing must not reveal which names exist: a dummy hash is verified."""
    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            calls.append("verify")
            return super().verify(hash, password)

    monkeypatch.setattr(accounts, "HASHER", Counting(time_cost=1, memory_cost=64, parallelism=1))
    refusal(any_engine, name="nobody", password=PASSWORD)
    assert calls == ["verify"]


def test_a_failure_is_recorded_per_pair_and_per_client_despite_the_rollback(
    any_engine: Engine,
) -> None:
    make_user(any_engine)
    refusal(any_engine, password="wrong password!", client="192.0.2.7")
    assert failures(any_engine, "pair:192.0.2.7|alice") == 1
    assert failures(any_engine, "client:192.0.2.7") == 1
    refusal(any_engine, password="wrong password!", client=None)
    assert failures(any_engine, "pair:-|alice") == 1


def test_delays_grow_per_pair_and_refuse_even_the_right_password_there(
    any_engine: Engine,
) -> None:
    make_user(any_engine)
    free = POLICY.free_failures
    for i in range(free):  # free failures: no wait at all
        wrong = refusal(any_engine, password="wrong password!", at=T0 + i * SECOND)
        assert wrong.reason == "bad_credentials"
    last = T0 + (free - 1) * SECOND
    limited = refusal(any_engine, at=last + SECOND)  # the right password, from that address
    assert (limited.reason, limited.retry_after) == ("rate_limited", 1.0)
    assert failures(any_engine, "pair:10.0.0.1|alice") == free, "a refused try is not counted"
    waited = last + POLICY.first_delay
    assert refusal(any_engine, password="wrong password!", at=waited).reason == "bad_credentials"
    doubled = refusal(any_engine, at=waited + POLICY.first_delay)
    assert doubled.retry_after == POLICY.first_delay.total_seconds()
    _token, who = attempt(any_engine, at=waited + 2 * POLICY.first_delay)
    assert who.name == "alice"
    assert failures(any_engine, "pair:10.0.0.1|alice") == 0, "a success clears the pair"


def test_a_guesser_elsewhere_never_locks_the_user_out(any_engine: Engine) -> None:
    """The attack a per-user lockout invites: hammer her name during a storm."""
    make_user(any_engine)
    for i in range(40):
        client = f"203.0.113.{i % 2}"
        refusal(any_engine, password="wrong password!", client=client, at=T0 + i * MINUTE / 4)
    _token, who = attempt(any_engine, client="10.0.0.1", at=T0 + 10 * MINUTE)
    assert who.name == "alice"


def test_the_delay_doubles_up_to_its_cap() -> None:
    free, first = POLICY.free_failures, POLICY.first_delay
    assert accounts.pair_delay(free - 1, POLICY) == timedelta(0)
    assert [accounts.pair_delay(free + k, POLICY) for k in range(3)] == [
        first,
        2 * first,
        4 * first,
    ]
    assert accounts.pair_delay(10_000, POLICY) == POLICY.max_delay


def test_rate_limit_per_client_across_many_names(any_engine: Engine) -> None:
    make_user(any_engine)
    for i in range(POLICY.max_failures_per_client):
        refusal(any_engine, name=f"guess{i}", password="wrong password!", client="203.0.113.5")
    limited = refusal(any_engine, client="203.0.113.5", at=T0 + MINUTE)
    assert limited.reason == "rate_limited"
    assert limited.retry_after is not None
    assert limited.retry_after == (POLICY.failure_window - MINUTE).total_seconds()
    _token, who = attempt(any_engine, client="198.51.100.1", at=T0 + MINUTE)  # another client
    assert who.name == "alice"
    _token, who = attempt(any_engine, client="203.0.113.5", at=T0 + POLICY.failure_window)
    assert who.name == "alice"


def test_success_clears_the_pairs_failures_but_not_the_clients(any_engine: Engine) -> None:
    make_user(any_engine)
    for _ in range(POLICY.free_failures):
        refusal(any_engine, password="wrong password!")
    attempt(any_engine, at=T0 + POLICY.first_delay)
    assert failures(any_engine, "pair:10.0.0.1|alice") == 0
    assert failures(any_engine, "client:10.0.0.1") == POLICY.free_failures
    for _ in range(POLICY.free_failures - 1):
        refusal(any_engine, password="wrong password!", at=T0 + POLICY.first_delay)
    _token, who = attempt(any_engine, at=T0 + POLICY.first_delay)  # 2 since the success: free
    assert who.name == "alice"


def test_login_rehashes_when_the_argon2_parameters_changed(
    any_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(any_engine)
    stronger = PasswordHasher(time_cost=2, memory_cost=128, parallelism=1)
    monkeypatch.setattr(accounts, "HASHER", stronger)
    attempt(any_engine)
    with session_scope(any_engine) as s:
        stored = s.exec(select(User).where(col(User.name) == "alice")).one().password_hash
    assert "m=128,t=2" in stored
    assert not stronger.check_needs_rehash(stored)
    assert attempt(any_engine)[1].name == "alice"  # the new hash verifies


def test_overlong_input_is_refused_without_failing_the_database(any_engine: Engine) -> None:
    make_user(any_engine)
    assert refusal(any_engine, name="n" * 5000, client="c" * 5000).reason == "bad_credentials"
    assert refusal(any_engine, password="p" * 5000).reason == "bad_credentials"
    assert failures(any_engine, f"pair:{'c' * 64}|{'n' * 200}") == 1
    assert failures(any_engine, "client:" + "c" * 64) == 1


# --- sessions -------------------------------------------------------------------------------


def test_missing_unknown_and_overlong_tokens_resolve_to_none(any_engine: Engine) -> None:
    make_user(any_engine)
    token, _who = attempt(any_engine)
    for bad in (None, "", "not-a-token", token + "x", token * 10):
        assert resolve(any_engine, bad, T0) is None
    assert resolve(any_engine, token, T0) is not None


def test_logout_revokes_only_that_session(any_engine: Engine) -> None:
    """No fixation: every login makes a new session; logging one out leaves the other."""
    make_user(any_engine)
    first, who1 = attempt(any_engine)
    second, who2 = attempt(any_engine)
    assert first != second
    assert who1.session_id != who2.session_id
    assert who1.csrf_token != who2.csrf_token
    with session_scope(any_engine) as s:
        accounts.logout(s, first, T0 + MINUTE)
        accounts.logout(s, "never-issued", T0 + MINUTE)  # harmless
    assert resolve(any_engine, first, T0 + MINUTE) is None
    assert resolve(any_engine, second, T0 + MINUTE) == who2


def test_idle_session_expires(any_engine: Engine) -> None:
    make_user(any_engine)
    token, _ = attempt(any_engine)
    assert resolve(any_engine, token, T0 + POLICY.idle_timeout - MINUTE) is not None
    later = T0 + POLICY.idle_timeout - MINUTE + POLICY.idle_timeout
    assert resolve(any_engine, token, later) is None


def test_session_expires_at_the_absolute_timeout_however_active(any_engine: Engine) -> None:
    make_user(any_engine)
    token, _ = attempt(any_engine)
    at = T0
    while at + timedelta(hours=11) < T0 + POLICY.absolute_timeout:
        at += timedelta(hours=11)
        assert resolve(any_engine, token, at) is not None
    assert resolve(any_engine, token, T0 + POLICY.absolute_timeout) is None


def test_a_shorter_policy_also_ends_older_sessions(any_engine: Engine) -> None:
    make_user(any_engine)
    token, _ = attempt(any_engine)
    short = AccountPolicy(absolute_timeout=timedelta(hours=1))
    with session_scope(any_engine) as s:
        assert accounts.resolve_session(s, token, T0 + 2 * timedelta(hours=1), short) is None


def test_disabled_user_is_signed_out_at_once(any_engine: Engine) -> None:
    make_user(any_engine)
    token, _ = attempt(any_engine)
    attempt(any_engine)
    with session_scope(any_engine) as s:
        assert accounts.disable_user(s, "alice", T0 + MINUTE) == 2
    assert resolve(any_engine, token, T0 + MINUTE) is None


def test_disabled_user_without_revocation_still_resolves_to_none(any_engine: Engine) -> None:
    make_user(any_engine)
    token, _ = attempt(any_engine)
    with session_scope(any_engine) as s:
        user = s.exec(select(User).where(col(User.name) == "alice")).one()
        user.disabled = True
        s.add(user)
    assert resolve(any_engine, token, T0) is None


def test_role_change_applies_to_existing_sessions(any_engine: Engine) -> None:
    make_user(any_engine, role="viewer")
    token, who = attempt(any_engine)
    assert not who.can("triage")
    with session_scope(any_engine) as s:
        accounts.set_role(s, "alice", "manager")
    after = resolve(any_engine, token, T0)
    assert after is not None
    assert after.role == "manager"
    assert after.can("triage")
    with pytest.raises(AccountError, match="unknown role"), session_scope(any_engine) as s:
        accounts.set_role(s, "alice", "god")
    with pytest.raises(AccountError, match="no user"), session_scope(any_engine) as s:
        accounts.set_role(s, "nobody", "viewer")


def test_set_password_changes_it_and_signs_the_user_out(any_engine: Engine) -> None:
    make_user(any_engine)
    token, _ = attempt(any_engine)
    with session_scope(any_engine) as s:
        accounts.set_password(s, "alice", "a brand new passphrase", T0 + MINUTE)
    assert resolve(any_engine, token, T0 + MINUTE) is None
    assert refusal(any_engine, at=T0 + MINUTE).reason == "bad_credentials"
    assert attempt(any_engine, password="a brand new passphrase", at=T0 + MINUTE)[1].name
    with pytest.raises(AccountError, match="too short"), session_scope(any_engine) as s:
        accounts.set_password(s, "alice", "short", T0)


def _last_seen(engine: Engine, session_id: str) -> Any:
    with session_scope(engine) as s:
        row = s.get(WebSession, session_id)
        assert row is not None
        return row.last_seen_at


def test_last_seen_is_written_at_most_once_a_minute(any_engine: Engine) -> None:
    make_user(any_engine)
    token, who = attempt(any_engine)
    resolve(any_engine, token, T0 + 30 * SECOND)
    assert _last_seen(any_engine, who.session_id) == T0
    resolve(any_engine, token, T0 + 61 * SECOND)
    assert _last_seen(any_engine, who.session_id) == T0 + 61 * SECOND
    resolve(any_engine, token, T0 + 90 * SECOND)
    assert _last_seen(any_engine, who.session_id) == T0 + 61 * SECOND


def test_the_database_never_holds_the_raw_token_or_password(any_engine: Engine) -> None:
    make_user(any_engine)
    token, who = attempt(any_engine, client="192.0.2.1")
    refusal(any_engine, password="a wrong passphrase")
    with session_scope(any_engine) as s:
        row = s.get(WebSession, hashlib.sha256(token.encode()).hexdigest())
        assert row is not None
        assert row.csrf_token == who.csrf_token
        dumped = [
            str(value)
            for table in SQLModel.metadata.sorted_tables
            if table.name in ("users", "web_sessions", "login_failures")
            for record in s.execute(sa.select(table)).all()
            for value in record
        ]
    assert dumped
    assert not [v for v in dumped if token in v or PASSWORD in v]
    assert not [v for v in dumped if "a wrong passphrase" in v]


def test_check_csrf() -> None:
    who = Principal(1, "u", "manager", "sid", "the-right-csrf-token")
    assert accounts.check_csrf(who, "the-right-csrf-token")
    for bad in (None, "", "the-right-csrf-tokeN", "the-right-csrf-token "):
        assert not accounts.check_csrf(who, bad)
    assert not accounts.check_csrf(Principal(1, "u", "manager", "sid", ""), "")


def test_list_and_revoke_sessions(any_engine: Engine) -> None:
    make_user(any_engine, "alice")
    make_user(any_engine, "bob")
    attempt(any_engine, "alice")
    late, _ = attempt(any_engine, "alice", at=T0 + MINUTE)
    bob, _ = attempt(any_engine, "bob")
    with session_scope(any_engine) as s:
        accounts.logout(s, bob, T0 + MINUTE)
        everyone = accounts.list_sessions(s, None, T0 + MINUTE)
        assert everyone[0].id == accounts.token_id(late)  # most recently used first
        assert len(everyone) == 2
        assert len(accounts.list_sessions(s, "bob", T0 + MINUTE)) == 0
        assert len(accounts.list_sessions(s, "alice", T0 + POLICY.absolute_timeout)) == 0
        assert accounts.revoke_sessions(s, "alice", T0 + 2 * MINUTE) == 2
        assert accounts.revoke_sessions(s, "alice", T0 + 2 * MINUTE) == 0
        with pytest.raises(AccountError, match="no user"):
            accounts.revoke_sessions(s, "nobody", T0)
    assert resolve(any_engine, late, T0 + 2 * MINUTE) is None


def test_prune_removes_old_failures_and_long_dead_sessions(any_engine: Engine) -> None:
    make_user(any_engine)
    revoked, _ = attempt(any_engine)
    live, who = attempt(any_engine)
    refusal(any_engine, password="a wrong passphrase")  # after the successes (they clear)
    with session_scope(any_engine) as s:
        accounts.logout(s, revoked, T0)
    day = timedelta(days=1)
    with session_scope(any_engine) as s:
        assert accounts.prune(s, T0 + MINUTE, POLICY) == 0  # nothing old enough yet
    resolve(any_engine, live, T0 + timedelta(hours=11))  # keep it fresh
    with session_scope(any_engine) as s:
        assert accounts.prune(s, T0 + day + MINUTE, POLICY) == 3  # 2 failure rows + revoked
    with session_scope(any_engine) as s:
        assert [r.id for r in s.exec(select(WebSession)).all()] == [who.session_id]
        assert s.exec(select(LoginFailure)).all() == []


def test_a_users_time_zone_is_a_known_zone_or_the_default(any_engine: Engine) -> None:
    with session_scope(any_engine) as s:
        accounts.add_user(s, "mette", "manager", PASSWORD, T0, timezone="Europe/Copenhagen")
        with pytest.raises(AccountError, match="unknown time zone 'Mars/Olympus'"):
            accounts.add_user(s, "bo", "manager", PASSWORD, T0, timezone="Mars/Olympus")
    token, principal = attempt(any_engine, "mette")
    assert principal.timezone == "Europe/Copenhagen"
    with session_scope(any_engine) as s:
        assert accounts.set_timezone(s, "mette", " Asia/Tokyo ") == "Asia/Tokyo"
    assert (resolve(any_engine, token, T0 + MINUTE) or principal).timezone == "Asia/Tokyo"
    with session_scope(any_engine) as s:
        with pytest.raises(AccountError, match="use an IANA name like Europe/Copenhagen"):
            accounts.set_timezone(s, "mette", "CET-ish")
        with pytest.raises(AccountError, match="no user named"):
            accounts.set_timezone(s, "nobody", "Asia/Tokyo")
    with session_scope(any_engine) as s:
        assert s.exec(select(User).where(col(User.name) == "mette")).one().timezone == "Asia/Tokyo"
        assert accounts.set_timezone(s, "mette", "") is None  # back to the default
    assert (resolve(any_engine, token, T0 + 2 * MINUTE) or principal).timezone is None
