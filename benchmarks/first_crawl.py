"""A first crawl during a storm: may posts published just before it page?

The daemon's history safety makes every post published before the first crawl history
(``monitor.stages.detect``: the detector's ``live_since``); storms among them never page. This
measures what a look-back of L minutes before the first crawl (``live_since`` = first crawl
- L) changes, on the scenario simulator (``monitor.detect.simulate``, the detectors of
``monitor.detect``):

1. *Storms already under way*: a storm (to 10x in 0.5 h or 1 h; high and medium volume;
   seeds 0-3) whose first crawl comes 10, 20, 30 or 45 minutes after its onset, with the
   brand's two weeks before on record (a forum or feed with its history). Reported: how
   long after the first crawl it pages (median over the cases, and how many never page
   within 3 hours).
2. *Ordinary days*: a month of normal traffic with launches, competitor storms and outage
   news (seeds 0-3, medium and high), first crawls at 12 times spread over the month
   (different hours and weekdays). Reported: first crawls followed by any page within
   two hours (a false page: nothing there should page).

Run: ``.venv/bin/python benchmarks/first_crawl.py`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import statistics  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402

from monitor.detect import simulate  # noqa: E402
from monitor.detect.events import PostEvent  # noqa: E402
from monitor.detect.replay import replay  # noqa: E402

LOOKBACKS = (0, 30, 60)  # minutes before the first crawl that count as live
AFTER_ONSET = (10, 20, 30, 45)  # minutes from the storm's onset to the first crawl
SEEDS = range(4)


def first_page(events: list[PostEvent], crawl: datetime, lookback: int, hours: float) -> float:
    """Minutes from the first crawl to the first page (inf: none within ``hours``)."""
    result = replay(
        events,
        evaluate_from=crawl,
        live_since=crawl - timedelta(minutes=lookback),
        end=crawl + timedelta(hours=hours),
    )
    opened = [i.opened_at for i in result.incidents if i.origin == "live"]
    return (min(opened) - crawl) / timedelta(minutes=1) if opened else float("inf")


def storms() -> None:
    print("1. storms already under way at the first crawl (minutes from the crawl to the page)")
    for lookback in LOOKBACKS:
        delays, missed = [], 0
        for tier in ("high", "medium"):
            for ramp in (0.5, 1.0):
                for seed in SEEDS:
                    scenario = simulate.storm(seed, tier, 10.0, ramp, warmup_days=14)
                    onset = scenario.onsets()["Acme"]
                    assert onset is not None
                    for after in AFTER_ONSET:
                        crawl = onset + timedelta(minutes=after)
                        delay = first_page(scenario.events, crawl, lookback, 3)
                        if delay == float("inf"):
                            missed += 1
                        else:
                            delays.append(delay)
        cases = len(delays) + missed
        median = statistics.median(delays) if delays else float("nan")
        print(
            f"   look-back {lookback:>2} min: paged {len(delays)}/{cases}, "
            f"median {median:.0f} min after the crawl, worst "
            f"{max(delays) if delays else float('nan'):.0f}, not within 3 h: {missed}"
        )


def ordinary_days() -> None:
    print("2. ordinary months: first crawls followed by a (false) page within 2 hours")
    for lookback in LOOKBACKS:
        false, crawls = 0, 0
        for tier in ("high", "medium"):
            for seed in SEEDS:
                scenario = simulate.month(seed, tier, warmup_days=14)
                assert scenario.live_from is not None
                for n in range(12):  # every ~2.5 days, at a different hour
                    crawl = scenario.live_from + timedelta(hours=n * 59 + 7)
                    crawls += 1
                    false += first_page(scenario.events, crawl, lookback, 2) != float("inf")
        print(f"   look-back {lookback:>2} min: {false} of {crawls} first crawls paged")


if __name__ == "__main__":
    storms()
    ordinary_days()
