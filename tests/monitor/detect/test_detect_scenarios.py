"""End to end on the simulator: what should page pages in time, what should not stays quiet."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from monitor.detect import simulate
from monitor.detect.replay import events_from_jsonl, incident_summary, replay


def _run(scenario: simulate.Scenario, **kw: object):
    return replay(
        scenario.events,
        spikes=scenario.spikes,
        evaluate_from=scenario.live_from,
        end=scenario.end,
        **kw,  # type: ignore[arg-type]
    )


def _our_pages(result) -> list:
    return [u for u in result.pages if u.incident.brand == "Acme"]


@pytest.mark.parametrize(
    "scenario",
    [
        simulate.launch(1, "medium"),
        simulate.launch(2, "high"),
        simulate.competitor_storm(1, "medium"),
        simulate.outage_news(1, "medium"),
        simulate.outage_news(2, "high"),
    ],
    ids=lambda s: s.name,
)
def test_no_page_for_launches_competitors_and_outage_news(scenario: simulate.Scenario) -> None:
    assert _our_pages(_run(scenario)) == []


def test_the_competitor_itself_does_page() -> None:
    scenario = simulate.competitor_storm(1, "medium")
    result = _run(scenario)
    assert [u.incident.brand for u in result.pages] == ["Rival"]


def test_annotated_launch_window_does_not_page() -> None:
    assert _our_pages(_run(simulate.launch(3, "high", annotated=True))) == []


def test_fast_10x_storm_pages_within_20_minutes() -> None:
    scenario = simulate.storm(1, "high", peak=10, ramp_hours=0.25)
    onset = scenario.onsets()["Acme"]
    assert onset is not None
    pages = _our_pages(_run(scenario))
    assert pages, "storm was missed"
    assert onset <= pages[0].incident.opened_at <= onset + timedelta(minutes=20)
    assert pages[0].incident.kind == "volume_surge"


def test_viral_thread_pages_within_30_minutes_of_take_off() -> None:
    scenario = simulate.viral_thread(1, "low")
    onset = scenario.onsets()["Acme"]
    assert onset is not None
    pages = _our_pages(_run(scenario))
    assert len(pages) == 1
    assert onset <= pages[0].incident.opened_at <= onset + timedelta(minutes=30)
    assert pages[0].incident.thread_ids[0].startswith("viral-")


def test_storm_over_before_start_is_resolved_history_and_never_pages() -> None:
    scenario = simulate.storm(2, "medium", peak=10, ramp_hours=0.5)
    onset = scenario.onsets()["Acme"]
    assert onset is not None
    live_since = onset + timedelta(hours=14)  # the storm (8.5 h) is over by then
    result = replay(
        scenario.events, evaluate_from=onset - timedelta(hours=6), live_since=live_since
    )
    assert result.pages == []
    storms = [i for i in result.incidents if i.brand == "Acme"]
    assert storms
    assert all(i.origin == "history" and i.status == "resolved" for i in storms)
    assert any(i.opened_at < onset + timedelta(hours=1) for i in storms)


def test_backtest_jsonl_round_trip() -> None:
    scenario = simulate.viral_thread(3, "low", warmup_days=3)
    lines = [
        json.dumps(
            {
                "id": e.post_id,
                "title": e.title,
                "text": e.text_snippet,
                "lang": e.lang,
                "brand": e.brand,
                "label": None,
                "published_at": e.at.isoformat(),
                "source": e.source,
                "url": e.url,
                "thread_id": e.thread_id,
                "parent_id": e.thread_id if e.is_comment else None,
                **({"complaint": e.complaint} if n % 2 else {}),
            }
        )
        for n, e in enumerate(scenario.events)
    ]
    lines += ["not json", "{}", json.dumps({"id": "x", "brand": "Acme", "published_at": "soon"})]
    by_id = {e.post_id: e for e in scenario.events}
    calls: list[int] = []

    def score(records):
        calls.append(len(records))
        return [(by_id[r["id"]].complaint, by_id[r["id"]].negative) for r in records]

    load = events_from_jsonl(lines, score)
    assert len(load.events) == len(scenario.events)
    assert calls == [len(scenario.events) // 2]
    assert [w.split(":")[0] for w in load.warnings] == [f"line {len(lines) - i}" for i in (2, 1, 0)]
    result = replay(load.events, evaluate_from=scenario.live_from)
    summaries = [incident_summary(i) for i in result.incidents if i.brand == "Acme"]
    assert summaries
    assert summaries[0]["delay_minutes"] >= 0
    json.dumps(summaries)
