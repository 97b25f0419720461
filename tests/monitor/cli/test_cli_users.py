"""``stormwatch user``: every command on a real SQLite database through a real config file
(and once with no config file at all, on the embedded defaults)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from click.testing import Result
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from monitor import accounts
from monitor.cli import users as cli_users
from monitor.errors import LoginRefused
from monitor.settings import DatabaseSettings
from monitor.storage.db import make_engine, session_scope

runner = CliRunner()
PASSWORD = "correct horse battery"


def _command() -> tuple[Any, list[str]]:
    """``stormwatch user`` once monitor/cli.py mounts it; the sub-app on its own until then."""
    from monitor.cli import app

    mounted = any(g.typer_instance is cli_users.user_app for g in app.registered_groups)
    return (app, ["user"]) if mounted else (cli_users.user_app, [])


def run(*args: str, config: Path | None = None, stdin: str | None = None) -> Result:
    target, prefix = _command()
    extra = ["--config", str(config)] if config else []
    return runner.invoke(target, [*prefix, *args, *extra], input=stdin)


@pytest.fixture(autouse=True)
def fast_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=64))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "stormwatch.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/sw.db"\n')
    return path


@pytest.fixture
def engine(config: Path, tmp_path: Path) -> Iterator[Engine]:
    assert run("list", config=config).exit_code == 0  # the CLI migrates the database
    made = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path}/sw.db"))
    yield made
    made.dispose()


def login(engine: Engine, name: str, password: str) -> str:
    with session_scope(engine) as s:
        return accounts.login(s, name, password, "127.0.0.1", datetime.now(UTC))[0]


def users(config: Path) -> list[dict[str, Any]]:
    result = run("list", "--json", config=config)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def add(config: Path, name: str = "alice", role: str = "manager", pw: str = PASSWORD) -> Result:
    return run("add", name, "--role", role, "--password-stdin", config=config, stdin=pw + "\n")


def test_add_with_password_from_stdin_then_list(config: Path, engine: Engine) -> None:
    result = add(config)
    assert result.exit_code == 0, result.output
    assert "added alice (manager)" in result.output
    assert PASSWORD not in result.output
    listed = users(config)
    assert [(u["name"], u["role"], u["disabled"]) for u in listed] == [("alice", "manager", False)]
    assert "password_hash" not in listed[0]
    assert "argon2" not in json.dumps(listed)
    table = run("list", config=config)
    assert table.exit_code == 0
    assert "alice" in table.output
    assert "active" in table.output
    assert login(engine, "alice", PASSWORD)


def test_add_without_a_terminal_generates_and_prints_a_strong_password_once(
    config: Path, engine: Engine
) -> None:
    result = run("add", "bob", "--role", "viewer", config=config, stdin="")
    assert result.exit_code == 0, result.output
    found = re.search(r"generated password \(shown only now\): (\S+)", result.output)
    assert found
    assert len(found[1]) >= 24
    assert login(engine, "bob", found[1])


def test_add_prompts_twice_with_hidden_input_on_a_terminal(
    config: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_users, "_stdin_is_tty", lambda: True)
    result = run("add", "carol", "--role", "admin", config=config, stdin=f"{PASSWORD}\n" * 2)
    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    assert "Repeat" in result.output
    assert PASSWORD not in result.output
    assert "generated" not in result.output
    assert login(engine, "carol", PASSWORD)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["add", "dave", "--role", "root", "--password-stdin"], "unknown role 'root'"),
        (["add", "dave", "--role", "viewer", "--password-stdin"], "password too short"),
        (["add", "alice", "--role", "viewer", "--password-stdin"], "'alice' already exists"),
        (["add", "dave\x01", "--role", "viewer", "--password-stdin"], "control characters"),
        (["disable", "nobody"], "no user named 'nobody'"),
        (["passwd", "nobody", "--password-stdin"], "no user named 'nobody'"),
        (["role", "nobody", "viewer"], "no user named 'nobody'"),
        (["role", "alice", "owner"], "unknown role 'owner'"),
        (["revoke", "nobody"], "no user named 'nobody'"),
        (["sessions", "nobody"], "no user named 'nobody'"),
    ],
)
def test_refusals_are_one_line_and_exit_1(
    config: Path, engine: Engine, args: list[str], says: str
) -> None:
    assert add(config).exit_code == 0
    stdin = "short-pw\n" if "too short" in says else PASSWORD + "\n"
    result = run(*args, config=config, stdin=stdin)
    assert result.exit_code == 1
    assert result.output.startswith("error: ")
    assert says in result.output
    assert len(result.output.strip().splitlines()) == 1  # one sentence, no traceback
    assert "short-pw" not in result.output
    assert PASSWORD not in result.output
    assert [u["name"] for u in users(config)] == ["alice"]


def test_role_passwd_and_disable(config: Path, engine: Engine) -> None:
    assert add(config).exit_code == 0
    changed = run("role", "alice", "viewer", config=config)
    assert changed.exit_code == 0
    assert "alice is now viewer" in changed.output
    assert users(config)[0]["role"] == "viewer"

    new = "a different passphrase"
    passwd = run("passwd", "alice", "--password-stdin", config=config, stdin=new + "\n")
    assert passwd.exit_code == 0
    assert new not in passwd.output
    with pytest.raises(LoginRefused):
        login(engine, "alice", PASSWORD)
    token = login(engine, "alice", new)

    disabled = run("disable", "alice", config=config)
    assert disabled.exit_code == 0
    assert "revoked 1 session(s)" in disabled.output
    assert users(config)[0]["disabled"] is True
    with session_scope(engine) as s:
        assert accounts.resolve_session(s, token, datetime.now(UTC)) is None
    assert "disabled" in run("list", config=config).output


def test_sessions_lists_live_ones_without_secrets_and_revoke_ends_them(
    config: Path, engine: Engine
) -> None:
    assert add(config).exit_code == 0
    assert add(config, "bob", "viewer").exit_code == 0
    tokens = [login(engine, "alice", PASSWORD), login(engine, "alice", PASSWORD)]
    bob = login(engine, "bob", PASSWORD)

    listed = run("sessions", "alice", "--json", config=config)
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert {r["session"] for r in rows} == {accounts.token_id(t)[:12] for t in tokens}
    assert {r["user"] for r in rows} == {"alice"}
    assert rows[0]["client"] == "127.0.0.1"
    everyone = run("sessions", "--json", config=config)
    assert len(everyone.output.splitlines()) == 3
    with session_scope(engine) as s:
        csrf = [w.csrf_token for w in accounts.list_sessions(s, None, datetime.now(UTC))]
    for secret in [*tokens, bob, *csrf]:
        assert secret not in listed.output
        assert secret not in everyone.output

    revoked = run("revoke", "alice", config=config)
    assert revoked.exit_code == 0
    assert "revoked 2 session(s) of alice" in revoked.output
    assert run("sessions", "alice", "--json", config=config).output.strip() == ""
    table = run("sessions", config=config)
    assert table.exit_code == 0
    assert "bob" in table.output
    assert "alice" not in table.output


def test_works_without_a_config_file_on_the_embedded_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("STORMWATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    assert not (tmp_path / "stormwatch.toml").exists()
    result = run("add", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "stormwatch.db").exists()  # the default sqlite:///stormwatch.db
    listed = run("list", "--json")
    assert listed.exit_code == 0
    assert json.loads(listed.output)["name"] == "root"


def test_add_with_a_time_zone_and_list_it(config: Path, engine: Engine) -> None:
    added = run(
        "add", "mette", "--role", "manager", "--timezone", "Europe/Copenhagen",
        "--password-stdin", config=config, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert add(config, "bo").exit_code == 0
    assert {u["name"]: u["timezone"] for u in users(config)} == {
        "bo": None,
        "mette": "Europe/Copenhagen",
    }
    table = run("list", config=config).output
    assert re.search(r"mette\s+manager\s+active\s+Europe/Copenhagen", table), table
    assert re.search(r"bo\s+manager\s+active\s+default", table), table
    refused = run(
        "add", "kim", "--role", "viewer", "--timezone", "Mars/Olympus", config=config, stdin=""
    )
    assert refused.exit_code == 1
    assert "error: unknown time zone 'Mars/Olympus'" in refused.output
    assert "generated password" not in refused.output, "refused before a password is made"
    assert "kim" not in {u["name"] for u in users(config)}
