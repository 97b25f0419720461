"""The pages as a manager's browser times them: navigation timing in Chromium, laptop and phone.

A real uvicorn server with the real app over the showcase database (four brands, a Nordtel
storm, the tests' seeded world), a logged-in manager, Debian's Chromium through Playwright.
Each page is opened ``--runs`` times after one warm-up; the script prints the median and worst
of the browser's own navigation timing: response end (the server's answer received) and load
(the page drawn, its scripts and styles done), in milliseconds.

Run on any checkout: ``.venv/bin/python benchmarks/page_timing.py [--runs 7]``; to time an
older commit, put its tree first: ``PYTHONPATH=/path/to/old/tree python benchmarks/page_timing.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Page, sync_playwright

from monitor import accounts
from monitor.accounts import AccountPolicy
from monitor.settings import DatabaseSettings
from monitor.storage.db import make_engine
from monitor.web import create_app
from tests.support.servers.webapp import serving
from tests.support.worlds import web as world

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORTS = {"laptop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
TIMING = """() => { const n = performance.getEntriesByType("navigation")[0];
  return [n.responseEnd - n.startTime, n.loadEventEnd - n.startTime]; }"""


@contextmanager
def served(folder: Path) -> Iterator[str]:
    accounts.HASHER = world.CHEAP  # type: ignore[attr-defined]
    database = world.build_showcase(folder)
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{database}"))
    app = create_app(world.settings(), engine, clock=world.Clock(), policy=AccountPolicy())
    try:
        with serving(app) as url:
            yield url
    finally:
        engine.dispose()


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=name]", "mia")
    page.fill("input[name=password]", world.PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state("load")


def timings(page: Page, url: str, runs: int) -> tuple[list[float], list[float]]:
    page.goto(url)  # warm-up
    answers, loads = [], []
    for _ in range(runs):
        page.goto(url, wait_until="load")
        answered, loaded = page.evaluate(TIMING)
        answers.append(answered)
        loads.append(loaded)
    return answers, loads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    incident = quote(world.SHOWCASE_INCIDENT, safe="")
    paths = ["/queue", f"/incidents/{incident}", "/incidents", "/posts/s06/Nordtel", "/sources"]
    print("| viewport | page | response end median / worst ms | load median / worst ms |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp, served(Path(tmp)) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for name, viewport in VIEWPORTS.items():
                page = browser.new_context(viewport=viewport).new_page()  # type: ignore[arg-type]
                log_in(page, base)
                for path in paths:
                    answers, loads = timings(page, base + path, args.runs)
                    print(
                        f"| {name} | {path.split('/')[1]}{'/ID' if path.count('/') > 1 else ''} "
                        f"| {statistics.median(answers):.0f} / {max(answers):.0f} "
                        f"| {statistics.median(loads):.0f} / {max(loads):.0f} |"
                    )
        finally:
            browser.close()


if __name__ == "__main__":
    main()
