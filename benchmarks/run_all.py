"""Run every benchmark script and write their output to benchmarks/RESULTS.md.

Usage: python benchmarks/run_all.py [--quick]   (``make bench``)
--quick runs the crawl benchmark on 1,000 feeds instead of 10,000.
Each script prints its own table (figures as ratios against a baseline measured in the
same run where there is one); this only collects them with the date and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    ("crawl", ["crawl.py"]),
    ("brands", ["brands.py"]),  # brand matching, posts/s
    ("classify", ["classify.py"]),
    ("detect", ["detect.py"]),
    ("alerts", ["alerts.py"]),
    ("outbox window", ["outbox_window.py"]),  # receiver 2xx -> row marked sent
    ("queue", ["queue_bench.py"]),  # not queue.py: it would shadow Python's queue module
    ("themes", ["themes.py"]),  # clustering and labels; --real N also times the e5 encoder
    ("trends", ["trends.py"]),  # the trends page, 100,000 posts over 90 days
    ("push", ["push.py"]),  # pushed posts into the store, posts/s
    ("cluster", ["cluster.py"]),  # needs PostgreSQL (STORMWATCH_BENCH_PG)
    ("e2e", ["e2e.py"]),  # the real daemon and model, ~15 min; sources polled every 60 s
]


def run(name: str, argv: list[str]) -> str:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        cwd=HERE.parent,
    )
    took = time.perf_counter() - started
    body = done.stdout.strip() or done.stderr.strip()[-2000:]
    status = "" if done.returncode == 0 else f" (exit {done.returncode})"
    return f"## {name}{status}\n\n_{took:.0f} s_\n\n{body}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    header = (
        f"# Benchmark results\n\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n"
    )
    parts = [header]
    for name, argv in SCRIPTS:
        if name == "cluster" and args.quick:
            argv = [*argv, "--sources", "1000"]
        if name == "queue" and args.quick:
            argv = [*argv, "--posts", "20000"]
        if name == "crawl" and args.quick:
            argv = [*argv, "--feeds", "1000"]
        print(f"running {name} ...", file=sys.stderr, flush=True)
        parts.append(run(name, argv))
    (HERE / "RESULTS.md").write_text("\n".join(parts))
    print("\n".join(parts))


if __name__ == "__main__":
    main()
