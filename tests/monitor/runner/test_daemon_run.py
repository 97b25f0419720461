"""`stormwatch run` as operators run it: a real process serving the UI, /readyz and
/metrics, reloading its settings on SIGHUP (and refusing a broken file), stopping on
SIGTERM with exit status 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.demo.sampleweb import SampleWeb
from tests.support.servers.ports import free_port
from tests.support.worlds.crawl import config_for
from tests.support.worlds.processes import get, wait_for


@pytest.fixture(scope="module")
def web() -> Iterator[SampleWeb]:
    with SampleWeb() as site:
        yield site


def test_run_serves_ui_readiness_metrics_reloads_and_stops(tmp_path: Path, web: SampleWeb) -> None:
    config = config_for(tmp_path, web)
    port = free_port()
    base = config.read_text()
    base = base.replace("[log]\n", '[log]\nlevel = "debug"\n')
    config.write_text(base + f'\n[web]\nbind = "127.0.0.1:{port}"\n')
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "monitor",
        "run",
        "-c",
        str(config),
        "--tick",
        "0.3",
        "--no-classify",
    ]
    daemon = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert daemon.stdout is not None
    seen: list[str] = []
    try:
        wait_for(daemon.stdout, "web UI listening", seen)
        wait_for(daemon.stdout, "tick finished", seen)
        status, body = get(f"http://127.0.0.1:{port}/readyz")
        ready = json.loads(body)
        assert status == 200, body
        assert ready["ready"] is True, body
        assert set(ready["stages"]) == {"crawl", "classify", "detect", "page"}
        status, text = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert 'stormwatch_fetches_total{outcome="ok",source="blog"}' in text
        assert "stormwatch_database_up 1.0" in text
        assert get(f"http://127.0.0.1:{port}/queue")[0] in (200, 303)  # the UI is there

        config.write_text(
            base.replace('name = "Teleborg"', 'name = "Teleborg"\naliases = ["teleborg.se"]')
            + f'\n[web]\nbind = "127.0.0.1:{port}"\n'
        )
        daemon.send_signal(signal.SIGHUP)
        wait_for(daemon.stdout, "settings reloaded", seen)

        config.write_text(base + "\n[network]\ndeadline = -1\n")
        daemon.send_signal(signal.SIGHUP)
        line = wait_for(daemon.stdout, "reload refused", seen)
        assert "problems" in line
        wait_for(daemon.stdout, "tick finished", seen)  # still ticking on the old settings
    finally:
        daemon.send_signal(signal.SIGTERM)
        rest, _ = daemon.communicate(timeout=60)
    log = "".join(seen) + rest
    assert daemon.returncode == 0, log
    assert "daemon stopped" in rest
    assert "Traceback" not in log
