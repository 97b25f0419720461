"""`stormwatch backtest`: replay a JSONL file of posts and print the incidents it would open."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from monitor.cli import app
from monitor.detect import simulate


def test_backtest_finds_the_storm_with_onset_and_detection_times(tmp_path: Path) -> None:
    scenario = simulate.storm(seed=5, tier="high", peak=10.0, ramp_hours=0.5, warmup_days=7)
    path = tmp_path / "posts.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": e.post_id,
                    "title": e.title,
                    "text": e.text_snippet,
                    "brand": e.brand,
                    "published_at": e.at.isoformat(),
                    "thread_id": e.thread_id,
                    "complaint": e.complaint,
                    "negative": e.negative,
                }
            )
            for e in scenario.events
        )
        + "\nnot json\n"
    )
    result = CliRunner().invoke(app, ["backtest", "--posts", str(path), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    onset = scenario.onsets()["Acme"]
    assert onset is not None
    live = [r for r in rows if r["brand"] == "Acme" and r["detected_at"] >= onset.isoformat()]
    assert live, rows
    first = min(live, key=lambda r: r["detected_at"])
    assert first["kind"]
    assert first["onset_at"] <= first["detected_at"]
    events = first["events"]  # every page-worthy event, with its time
    assert events[0]["event"] == "opened"
    assert events[0]["at"] == first["detected_at"]
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert {e["event"] for e in events} <= {"opened", "reopened", "escalated", "resolved"}
    assert first["resolved_at"]
    assert events[-1] == {
        "at": first["resolved_at"],
        "event": "resolved",
        "reason": "quiet_period",
    }
    assert "line" in result.output
    assert "warning" in result.output

    table = CliRunner().invoke(app, ["backtest", "--posts", str(path)])
    assert table.exit_code == 0
    assert "posts replayed" in table.output


def test_backtest_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["backtest", "--posts", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1
    assert "cannot read" in result.output
