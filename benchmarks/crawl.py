"""Crawl throughput: Stormwatch's crawler against a bare httpx + feedparser loop.

A local server (its own process, not the bottleneck) serves N feeds of 20 items. Each
phase runs in a fresh process so its peak RSS is its own:

- bare-first:  a bare loop, one feed after another: httpx GET + feedparser.parse, no storage;
               run before and again after the crawler, the ratio's baseline is their mean
               (the machine's speed drifts over the minutes between; both are printed)
- bare-304:    the same loop sending If-None-Match, every answer a 304
- bare-async-304: that conditional loop on httpx.AsyncClient (like for like with our
               asyncio crawler)
- stormwatch:  the real crawler (fetch -> parse -> match -> language -> SQLite) over N
               sources: a full first sweep, then a second sweep where every feed answers 304,
               then PAIRS more 304 sweeps, each after the bare conditional loop run in the
               same process (the 304 ratio is the median of those pairs; see PAIRS; the
               same pairs' CPU seconds give a second ratio, less moved by other load)

Usage: python benchmarks/crawl.py [--feeds 10000]. Prints a table and the ratios the
README quotes (targets: first sweep <= 1.5x the bare loop, 304 sweep <= 1.25x the bare
conditional loop, peak RSS < 500 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where alerts.py would shadow the
# alerts package: put the repository root ahead of it (tests/test_layout.py checks).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HERE = Path(__file__).resolve().parent


# The 304 sweep takes seconds, and a shared machine's speed drifts between phases run
# minutes apart: the ratio the target is judged on is the median of PAIRS alternating runs
# in one process. Five, because three still ranged too widely (benchmarks/RESULTS.md, crawl).
PAIRS = 5


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TreeMemory:
    """Samples this process and its children together every ``every`` seconds (Linux
    /proc): the peak of their summed RSS, and of their summed PSS, which counts a page
    shared by several processes (the interpreter, libraries) once in all. The sum of each
    process's own peak, printed too, is an upper bound: the peaks need not coincide."""

    def __init__(self, every: float = 0.25) -> None:
        self.every = every
        self.rss_mb = 0.0
        self.pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            rss = pss = 0.0
            for pid in [os.getpid(), *_children(os.getpid())]:
                rollup = _rollup(pid)
                rss, pss = rss + rollup.get("Rss", 0.0), pss + rollup.get("Pss", 0.0)
            self.rss_mb, self.pss_mb = max(self.rss_mb, rss), max(self.pss_mb, pss)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _rollup(pid: int) -> dict[str, float]:
    """MB by field of /proc/<pid>/smaps_rollup (empty if the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    except OSError:
        return {}
    fields = (line.split() for line in lines)
    return {f[0].rstrip(":"): int(f[1]) / 1024 for f in fields if len(f) == 3 and f[2] == "kB"}


def bare(base: str, feeds: int, conditional: bool) -> dict[str, float]:
    import feedparser
    import httpx

    entries = 0
    start, cpu = time.perf_counter(), time.process_time()
    with httpx.Client(timeout=10) as client:
        for i in range(feeds):
            headers = {"If-None-Match": f'"f{i}-v1"'} if conditional else {}
            response = client.get(f"{base}/f/{i}.xml", headers=headers)
            if response.status_code == 200:
                entries += len(feedparser.parse(response.content).entries)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu_seconds": cpu, "posts": entries, "rss_mb": peak_rss_mb()}


def bare_async(base: str, feeds: int) -> dict[str, float]:
    """The same conditional loop on httpx.AsyncClient: the like-for-like baseline for an
    asyncio crawler (the sync client is cheaper per request than the async one)."""
    import httpx

    async def loop() -> float:
        async with httpx.AsyncClient(timeout=10) as client:
            start = time.perf_counter()
            for i in range(feeds):
                await client.get(f"{base}/f/{i}.xml", headers={"If-None-Match": f'"f{i}-v1"'})
            return time.perf_counter() - start

    return {"seconds": asyncio.run(loop()), "posts": 0, "rss_mb": peak_rss_mb()}


def stormwatch(base: str, feeds: int, processes: int | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="sw-bench-") as tmp:  # the database goes with it
        return _stormwatch(base, feeds, tmp, processes)


def _stormwatch(base: str, feeds: int, tmp: str, processes: int | None) -> dict[str, float]:
    from monitor.pipeline import build_pipeline
    from monitor.settings import parse_settings
    from monitor.storage.db import upgrade

    settings = parse_settings(
        {
            "database": {"url": f"sqlite:///{tmp}/bench.db"},
            "network": {"allowed_hosts": ["127.0.0.1"], "min_host_interval": 0.0},
            "crawl": {} if processes is None else {"parse_processes": processes},
            "brands": [{"name": "Nordtel"}],
            "sources": [
                {"name": f"f{i}", "kind": "feed", "url": f"{base}/f/{i}.xml", "interval": 60}
                for i in range(feeds)
            ],
        }
    )
    app = build_pipeline(settings)
    upgrade(app.engine)
    names = [s.name for s in settings.sources]

    async def sweeps() -> dict[str, float]:
        with TreeMemory() as memory:
            result = await _sweeps()
        return result | {"tree_rss_mb": memory.rss_mb, "tree_pss_mb": memory.pss_mb}

    async def _sweeps() -> dict[str, float]:
        app.crawler.reader.load()  # start the parse workers, load lingua: not timed
        t0 = time.perf_counter()
        first = await app.crawler.crawl(names, datetime.now(UTC))
        t1 = time.perf_counter()
        second = await app.crawler.crawl(names, datetime.now(UTC))
        t2 = time.perf_counter()
        pairs = []  # the bare conditional loop and our 304 sweep, alternating in this process
        cpu_pairs = []  # the same runs' CPU seconds in this process
        for _ in range(PAIRS):
            baseline = bare(base, feeds, conditional=True)
            t, cpu = time.perf_counter(), time.process_time()
            again = await app.crawler.crawl(names, datetime.now(UTC))
            pairs.append((baseline["seconds"], time.perf_counter() - t))
            cpu_pairs.append((baseline["cpu_seconds"], time.process_time() - cpu))
            assert sum(r.not_modified for r in again) == feeds
        await app.aclose()
        failed = [r for r in first + second if r.error]
        return {
            "first_seconds": t1 - t0,
            "posts": sum(len(r.new) for r in first),
            "second_seconds": t2 - t1,
            "second_304": sum(r.not_modified for r in second),
            "second_new": sum(len(r.new) for r in second),
            "pairs": pairs,
            "cpu_pairs": cpu_pairs,
            "errors": len(failed),
            "first_error": failed[0].error if failed else None,
            "main_rss_mb": peak_rss_mb(),
            # the parse workers have exited (aclose joins them): their peak, the largest one
            "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "main_cpu_s": _cpu(resource.RUSAGE_SELF),
            "worker_cpu_s": _cpu(resource.RUSAGE_CHILDREN),
            "workers": settings.crawl.parse_processes,
        }

    result = asyncio.run(sweeps())
    # main peak + each worker's peak: an upper bound of what the crawl held at once
    result["rss_mb"] = result["main_rss_mb"] + result["worker_rss_mb"] * result["workers"]
    return result


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_phase(phase: str, base: str, feeds: int, processes: int | None = None) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--phase", phase, "--base", base, "--feeds", str(feeds)]
    if processes is not None:
        cmd += ["--parse-processes", str(processes)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:  # the phase's own traceback, not just its exit status
        raise SystemExit(f"phase {phase} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bracket(before: dict, after: dict) -> dict:
    """The bare first sweep run before and after ours: their mean is the baseline."""
    runs = (before["seconds"], after["seconds"])
    return before | {"seconds": statistics.mean(runs), "runs": runs}


def report(feeds: int, b1: dict, b2: dict, b3: dict, sw: dict) -> None:
    rows = [
        ("bare httpx + feedparser, first sweep", b1["seconds"], b1["posts"], b1["rss_mb"]),
        ("Stormwatch crawler, first sweep", sw["first_seconds"], sw["posts"], sw["rss_mb"]),
        ("bare httpx, conditional (all 304)", b2["seconds"], 0, b2["rss_mb"]),
        ("bare httpx.AsyncClient, conditional (all 304)", b3["seconds"], 0, b3["rss_mb"]),
        (
            "Stormwatch crawler, second sweep (all 304)",
            sw["second_seconds"],
            sw["second_new"],
            sw["rss_mb"],
        ),
    ]
    ratios = [ours / base for base, ours in sw["pairs"]]
    cpu_ratios = [ours / base for base, ours in sw["cpu_pairs"]]
    print(f"\n{feeds} feeds x 20 items, one local server process\n")
    print("| run | seconds | feeds/s | posts/s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for name, secs, posts, rss in rows:
        print(f"| {name} | {secs:.1f} | {feeds / secs:.0f} | {posts / secs:.0f} | {rss:.0f} |")
    print(
        f"\nfirst sweep ratio {sw['first_seconds'] / b1['seconds']:.2f}x (target <= 1.5x; "
        f"the bare loop took {b1['runs'][0]:.1f} s before ours and {b1['runs'][1]:.1f} s "
        f"after, the ratio is against their mean); "
        f"304 sweep ratio {statistics.median(ratios):.2f}x (target <= 1.25x; the median of "
        f"{len(ratios)} alternating pairs in one process: "
        f"{', '.join(f'{ours:.2f} s / {base:.2f} s' for base, ours in sw['pairs'])}; "
        f"separate processes as in the table: {sw['second_seconds'] / b2['seconds']:.2f}x, "
        f"{sw['second_seconds'] / b3['seconds']:.2f}x the async loop); "
        f"304 sweep CPU ratio {statistics.median(cpu_ratios):.2f}x (the same pairs' CPU "
        f"seconds in this process: "
        f"{', '.join(f'{ours:.2f} s / {base:.2f} s' for base, ours in sw['cpu_pairs'])}); "
        f"peak RSS {sw['rss_mb']:.0f} MB (target < 500 MB; the sum of each process's "
        f"peak: this process {sw['main_rss_mb']:.0f} + {sw['workers']} parse worker(s) "
        f"of {sw['worker_rss_mb']:.0f}; sampled together every 0.25 s: RSS "
        f"{sw['tree_rss_mb']:.0f}, PSS {sw['tree_pss_mb']:.0f}); "
        f"CPU seconds over all sweeps: this process "
        f"{sw['main_cpu_s']:.0f}, parse workers {sw['worker_cpu_s']:.0f}; "
        f"304s {sw['second_304']}/{feeds}; errors {sw['errors']}"
        + (f" (first: {sw['first_error']})" if sw["errors"] else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument(
        "--phase", choices=["bare-first", "bare-304", "bare-async-304", "stormwatch"]
    )
    parser.add_argument("--base")
    parser.add_argument(
        "--parse-processes", type=int, help="[crawl] parse_processes (default: the default)"
    )
    args = parser.parse_args()
    if args.phase:
        result = {
            "bare-first": lambda: bare(args.base, args.feeds, conditional=False),
            "bare-304": lambda: bare(args.base, args.feeds, conditional=True),
            "bare-async-304": lambda: bare_async(args.base, args.feeds),
            "stormwatch": lambda: stormwatch(args.base, args.feeds, args.parse_processes),
        }[args.phase]()
        print(json.dumps(result))
        return
    server = subprocess.Popen(
        [sys.executable, str(HERE / "feedserver.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        before = run_phase("bare-first", base, args.feeds)
        b2 = run_phase("bare-304", base, args.feeds)
        b3 = run_phase("bare-async-304", base, args.feeds)
        sw = run_phase("stormwatch", base, args.feeds, args.parse_processes)
        after = run_phase("bare-first", base, args.feeds)
        report(args.feeds, bracket(before, after), b2, b3, sw)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
