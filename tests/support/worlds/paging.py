"""The paging stage's world: settings that page people through local receivers (and
PagerDuty) or into a file, signals at a simulated minute, incidents made the daemon's way
(``Storms``), and what a receiver got (``describe``)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from monitor.detect.events import Severity, Signal
from monitor.detect.incidents import Incident, IncidentBook, IncidentConfig
from monitor.queue.incidents import act
from monitor.settings import Settings, parse_settings
from monitor.stages.detect import save_incident
from monitor.storage.db import session_scope
from tests.support.fixtures.clock import T0
from tests.support.servers.receivers import Hit

PD_KEY = "R0UTINGKEY0123456789abcdefABCDEF"


PEOPLE = ("mette", "jonas")


_STEP = re.compile(r"Incident: (\S+)\s+Step: (\S+)")


def paging_settings(
    engine: Engine | str,
    people_port: int,
    pd_port: int | None = None,
    *,
    followup_minutes: int = 30,
    lease_seconds: float = 60,
) -> Settings:
    """mette on duty (level 1, plus PagerDuty when ``pd_port``), jonas after 15 minutes."""
    channels = [{"name": p, "url": f"json://127.0.0.1:{people_port}/{p}"} for p in PEOPLE]
    first: dict[str, Any] = {"schedules": ["duty"], "wait_minutes": 15}
    if pd_port is not None:
        url = f"pagerduty://{PD_KEY}@127.0.0.1:{pd_port}/v2/enqueue?tls=no"
        channels.append({"name": "pd", "url": url})
        first["channels"] = ["pd"]
    return parse_settings(
        {
            "database": {"url": engine if isinstance(engine, str) else str(engine.url)},
            "web": {"public_url": "http://127.0.0.1:8080", "secret_key": "k" * 32},
            "channels": channels,
            "outbox": {"lease_seconds": lease_seconds},
            "oncall": {
                "followup_minutes": followup_minutes,
                "people": [{"name": p, "channels": [p]} for p in PEOPLE],
                "schedules": [
                    {
                        "name": "duty",
                        "rotation": "weekly",
                        "start": "2026-01-05",
                        "members": ["mette"],
                    }
                ],
                "policies": [
                    {
                        "name": "all",
                        "repeat_limit": 0,
                        "levels": [first, {"people": ["jonas"], "wait_minutes": 30}],
                    }
                ],
            },
        }
    )


def signal(
    brand: str,
    minute: int,
    *,
    posts: int,
    observed: float,
    severity: Severity = "warning",
    kind: str = "volume_surge",
    thread: str | None = None,
) -> Signal:
    at = T0 + timedelta(minutes=minute)
    return Signal(
        kind=kind,
        brand=brand,
        severity=severity,
        reason=kind,
        at=at,
        window_start=at - timedelta(hours=1),
        window_end=at,
        observed=observed,
        expected=2.0,
        ratio=observed / 2.0,
        post_ids=tuple(f"{brand}-{kind}-{n}" for n in range(posts)),
        thread_id=thread,
    )


class Storms:
    """The detect stage's side, by hand: signals into a book, the book into the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Paging rounds given incidents: a one-signal storm that resolves and reopens is
        # paged as such, not watched (watching bursty brands: test_detect_bursty.py).
        self.book = IncidentBook(IncidentConfig(confirm_after=timedelta(0)))

    def signal(self, sig: Signal) -> Incident:
        incident = self.book.apply(sig, sig.at).incident
        self.save(incident, sig.at)
        return incident

    def decide(self, incident: Incident, action: str, minute: int) -> None:
        """A manager acknowledges or resolves (the CLI's and the UI's function)."""
        now = T0 + timedelta(minutes=minute)
        with session_scope(self.engine) as session:
            act(session, incident.id, action, "mette", now)
        if action == "ack":
            self.book.acknowledge(incident.id, now, "mette")
        else:
            self.book.resolve(incident.id, now)

    def save(self, incident: Incident, now: Any) -> None:
        with session_scope(self.engine) as session:
            text = f"{incident.brand}: {len(incident.post_ids)} complaints ({incident.kind})"
            save_incident(session, incident, text, now)


def describe(hit: Hit) -> tuple[str, str, str]:
    """(where, incident id, step) of a request: a person's webhook or the PagerDuty event."""
    body = hit.json()
    if "event_action" in body:
        incident = body["dedup_key"].removeprefix("stormwatch-")
        step = body["payload"]["class"] if body["event_action"] == "trigger" else "-"
        return "pd", incident, f"{body['event_action']}/{step}"
    found = _STEP.search(body["message"])
    assert found, body["message"]
    return hit.path.strip("/"), found.group(1), found.group(2)


def file_paging_settings(tmp_path: Path, engine: Engine) -> Settings:
    return parse_settings(
        {
            "database": {"url": str(engine.url)},
            "web": {"public_url": "http://127.0.0.1:8080", "secret_key": "k" * 32},
            "channels": [{"name": "pages", "url": f"file://{tmp_path}/pages.log"}],
            "oncall": {
                "people": [
                    {"name": "mette", "channels": ["pages"]},
                    {"name": "jonas", "channels": ["pages"]},
                ],
                "schedules": [
                    {
                        "name": "duty",
                        "rotation": "weekly",
                        "start": "2026-01-05",
                        "members": ["mette"],
                    }
                ],
                "policies": [
                    {
                        "name": "storms",
                        "repeat_limit": 2,
                        "repeat_minutes": 15,
                        "levels": [
                            {"schedules": ["duty"], "wait_minutes": 15},
                            {"people": ["jonas"], "wait_minutes": 30},
                        ],
                    }
                ],
            },
        }
    )
