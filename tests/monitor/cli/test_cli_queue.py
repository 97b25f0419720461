"""``stormwatch queue ...`` from the shell: every triage command through the real CLI on a
real SQLite database, the history it leaves, and one-line refusals."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.cli.output import console, print_table
from monitor.settings import DatabaseSettings
from monitor.stages.detect import save_incident
from monitor.storage.db import make_engine, session_scope, upgrade
from tests.support.fixtures.clock import T0
from tests.support.seeds.queue_seed import SeedPost, seed
from tests.support.worlds.web import EXPLANATION, build_template, seed_incident

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    db = tmp_path / "queue.db"
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{db}"))
    upgrade(engine)
    seed(
        engine,
        [
            SeedPost("a", "Nordtel har lukket min fiber uden varsel", title="Ingen fiber"),
            SeedPost("b", "Fjordkraft sendte regningen to gange", brand="Fjordkraft"),
            SeedPost("both", "Nordtel og Fjordkraft svarer ingen af dem"),
            SeedPost("both", "Nordtel og Fjordkraft svarer ingen af dem", brand="Fjordkraft"),
        ],
        T0,
    )
    engine.dispose()
    path = tmp_path / "sw.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{db}"\n')
    return path


def cli(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "-c", str(config)], env={"USER": "mette"})
    return result.exit_code, result.output


def test_a_post_is_triaged_from_the_shell_and_every_step_is_in_its_history(
    config: Path,
) -> None:
    steps = [
        ("queue", "ack", "a"),
        ("queue", "assign", "a", "--to", "lars"),
        ("queue", "note", "a", "Ringer kunden op"),
        ("queue", "respond", "a", "--note", "Svaret i tråden"),
        ("queue", "resolve", "a", "--by", "lars"),
        ("queue", "reopen", "a", "--note", "Kunden skrev igen"),
        ("queue", "dismiss", "a"),
    ]
    for step in steps:
        code, output = cli(config, *step, "--json")
        assert code == 0, (step, output)
    code, output = cli(config, "queue", "show", "a", "--json")
    assert code == 0, output
    detail = json.loads(output)
    assert detail["status"] == "dismissed"
    assert detail["assignee"] == "lars"
    assert detail["first_response_at"] is not None
    actions = [(e["actor"], e["action"]) for e in detail["history"]]
    for actor, action in [("mette", "respond"), ("lars", "resolve"), ("mette", "dismiss")]:
        assert (actor, action) in actions
    notes = " ".join(e["detail"] for e in detail["history"])
    assert "Ringer kunden op" in notes
    assert "Svaret i tråden" in notes

    code, output = cli(config, "queue", "list", "--status", "dismissed", "--json")
    assert code == 0
    assert [json.loads(line)["post_id"] for line in output.splitlines()] == ["a"]


def test_refusals_are_one_line_and_change_nothing(config: Path) -> None:
    code, output = cli(config, "queue", "respond", "both")
    assert code == 1
    assert "queued for" in output
    assert "--brand" in output
    assert len(output.strip().splitlines()) == 1

    code, output = cli(config, "queue", "ack", "nope")
    assert code == 1
    assert "not in the queue" in output
    assert len(output.strip().splitlines()) == 1

    assert cli(config, "queue", "resolve", "b")[0] == 0
    code, output = cli(config, "queue", "resolve", "b")
    assert code == 1
    assert "cannot resolve" in output
    assert len(output.strip().splitlines()) == 1

    code, output = cli(config, "queue", "respond", "both", "--brand", "Fjordkraft", "--json")
    assert code == 0
    assert json.loads(output)["brand"] == "Fjordkraft"
    code, output = cli(config, "queue", "list", "--brand", "Nordtel", "--json")
    open_nordtel = {json.loads(line)["post_id"]: json.loads(line) for line in output.splitlines()}
    assert open_nordtel["both"]["status"] == "new"  # the other brand's row is untouched


# --- output: data printed as it is --------------------------------------------------------

THREAD = "Nordtel:thread:20260304T1450Z"  # ":thread:" is an emoji code to rich


@pytest.fixture
def incidents_config(tmp_path: Path) -> Path:
    db = build_template(tmp_path)
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{db}"))
    with session_scope(engine) as session:
        save_incident(session, seed_incident(THREAD), EXPLANATION, T0)
    engine.dispose()
    path = tmp_path / "sw.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{db}"\n')
    return path


def test_ids_print_as_they_are_in_json_and_piped_rows(incidents_config: Path) -> None:
    code, output = cli(incidents_config, "incidents", "list", "--json")
    assert code == 0
    assert THREAD in {json.loads(line)["id"] for line in output.splitlines()}
    code, output = cli(incidents_config, "incidents", "list")
    header, *rows = [line.split("\t") for line in output.splitlines()]
    assert header == ["id", "brand", "kind", "severity", "status", "opened", "explanation"]
    thread = next(row for row in rows if row[0] == THREAD)
    assert thread[5] == "2026-11-02 09:00 UTC"
    assert thread[6] == " ".join(EXPLANATION.split("\n")[0].split()), "full, never cut"
    code, output = cli(incidents_config, "incidents", "show", THREAD)
    assert code == 0
    assert output.startswith(f"id               {THREAD}\n")
    assert "opened_at        2026-11-02 09:00 UTC" in output


def test_a_terminal_table_shows_brackets_and_colons_as_text() -> None:
    screen = console(file=io.StringIO(), force_terminal=True, width=200)
    hint = "add the host to [network] allowed_hosts"
    print_table(("id", "result"), [[THREAD, hint], ["x", "[red]y[/red]"]], to=screen)
    shown = screen.file.getvalue()  # type: ignore[attr-defined]
    assert THREAD in shown
    assert hint in shown
    assert "[red]y[/red]" in shown
