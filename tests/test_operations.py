"""Operator tools: the online SQLite backup restores to a working database; the systemd
unit passes systemd's own checker."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.settings import DatabaseSettings
from monitor.storage.db import make_engine, session_scope, upgrade
from tests.support.fixtures.clock import T0
from tests.support.paths import REPO
from tests.support.seeds.queue_seed import SeedPost, seed

runner = CliRunner()


def test_backup_while_open_restores_every_row(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{live}"))
    upgrade(engine)
    seed(engine, [SeedPost(f"p{i}", f"Nordtel svarer ikke {i}") for i in range(20)], T0)
    config = tmp_path / "sw.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{live}"\n')
    with session_scope(engine) as session:  # a writer holds the database during the backup
        session.connection()
        result = runner.invoke(app, ["db", "backup", str(tmp_path / "copy.db"), "-c", str(config)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(app, ["db", "backup", str(tmp_path / "copy.db"), "-c", str(config)])
    assert again.exit_code == 1
    assert "exists" in again.output

    restored = tmp_path / "restored.db"
    shutil.copy(tmp_path / "copy.db", restored)
    config.write_text(f'[database]\nurl = "sqlite:///{restored}"\n')
    listed = runner.invoke(app, ["queue", "list", "--json", "--limit", "100", "-c", str(config)])
    assert listed.exit_code == 0
    assert len(listed.output.strip().splitlines()) == 20
    engine.dispose()


def test_backup_refuses_postgresql_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "sw.toml"
    config.write_text('[database]\nurl = "postgresql://postgres@127.0.0.1:5432/test"\n')
    result = runner.invoke(app, ["db", "backup", str(tmp_path / "x.db"), "-c", str(config)])
    assert result.exit_code == 1
    assert "pg_dump" in result.output


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    venv = Path(sys.executable).parent.parent
    unit = (
        (REPO / "config" / "stormwatch.service")
        .read_text()
        .replace("/opt/stormwatch/.venv", str(venv))
    )
    path = tmp_path / "stormwatch.service"
    path.write_text(unit)
    checked = subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True
    )
    problems = [
        line
        for line in (checked.stdout + checked.stderr).splitlines()
        if "stormwatch.service" in line
    ]
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert problems == [], checked.stdout + checked.stderr
