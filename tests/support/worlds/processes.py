"""Real ``stormwatch run`` processes and waiting on what they log: nothing sleeps, every
wait reads log lines, with a deadline only so a broken build fails instead of hanging."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def wait_for(stream: IO[str], needle: str, seen: list[str]) -> str:
    """Read the daemon's log until a line contains ``needle`` (blocks: no sleeping)."""
    for line in stream:
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"the daemon exited before logging {needle!r}:\n{''.join(seen)}")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


DEADLINE = 120.0  # seconds; only ever reached when something is broken


class Logs:
    """Every JSON log line of every process, with a condition to wait on."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, dict[str, Any]]] = []
        self.raw: list[str] = []
        self.changed = threading.Condition()

    def follow(self, index: int, stream: IO[str]) -> None:
        for line in stream:
            with self.changed:
                self.raw.append(f"[{index}] {line}")
                if line.startswith("{"):
                    self.lines.append((index, json.loads(line)))
                self.changed.notify_all()
        with self.changed:
            self.raw.append(f"[{index}] (exited)\n")
            self.changed.notify_all()

    def messages(self, msg: str) -> list[tuple[int, dict[str, Any]]]:
        with self.changed:
            return [(i, line) for i, line in self.lines if line.get("msg") == msg]

    def wait(self, what: str, done: Callable[[], bool]) -> None:
        with self.changed:
            if not self.changed.wait_for(done, timeout=DEADLINE):
                raise AssertionError(f"timed out waiting for {what}:\n{''.join(self.raw[-60:])}")


def start(config: Path, logs: Logs, index: int, *options: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "monitor", "run", "-c", str(config), "--tick", "1"]
    process = subprocess.Popen(
        [*command, *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    threading.Thread(target=logs.follow, args=(index, process.stdout), daemon=True).start()
    return process


def stop(processes: list[subprocess.Popen[str]], logs: Logs) -> None:
    for process in processes:
        process.terminate()  # SIGTERM: finish the running jobs, exit 0
    for process in processes:
        process.wait(timeout=60)
    logs.wait("every log line", lambda: sum("(exited)" in r for r in logs.raw) == len(processes))
    codes = [p.returncode for p in processes]
    output = "".join(logs.raw)
    assert codes == [0] * len(processes), output[-4000:]
    assert "Traceback" not in output, output[-4000:]
