"""The checks every API source kind passes, against its fake platform on 127.0.0.1.

A kind's test module describes the kind in one ``ApiKind`` row and subclasses the checks
that apply to it as ``TestApiContract`` (pytest collects the class there); each check then
runs for that kind, under that module's name:

- ``HealthReasons``: a failing answer (an HTTP error, a body that is not what the platform
  documents) reads as the source's health reason, and nothing is stored;
- ``SecretNeverShown``: a credential the platform refuses reads as the kind's refusal, and
  the secret shows nowhere a failed crawl shows or stores anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy.engine import Engine

from monitor.settings import Settings
from monitor.stages.read import Matchers
from tests.support.fixtures.clock import T0
from tests.support.servers.fakeplatform import (
    FakePlatform,
    Reply,
    crawl_once,
    places_showing,
    source_row,
    stored,
)

# the one secret the platform accepts in the refusal check: not the one the source has
WRONG_SECRET = "another-secret"


@dataclass(frozen=True)
class ApiKind:
    """One API source kind, as the shared checks need it."""

    platform: str  # the test module's fixture that runs the fake platform
    source: str  # the source's name in ``settings``
    settings: Callable[[FakePlatform, Path], Settings]
    serve: Callable[[FakePlatform, str], None]  # answer as the platform does, to this secret
    fail_path: str  # where a failing answer is given
    errors: Sequence[tuple[Reply, str]] = ()  # a failing answer, the reason it reads as
    secret: str = ""  # the credential in ``settings``
    refused: str = ""  # how a refused secret reads, at the start of the last error


class _Contract:
    kind: ClassVar[ApiKind]

    @pytest.fixture
    def platform(self, request: pytest.FixtureRequest) -> FakePlatform:
        return request.getfixturevalue(self.kind.platform)  # type: ignore[no-any-return]


class HealthReasons(_Contract):
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if metafunc.definition.name == "test_errors_read_as_health_reasons":
            metafunc.parametrize(("reply", "reason"), self.kind.errors)

    def test_errors_read_as_health_reasons(
        self,
        platform: FakePlatform,
        tmp_path: Path,
        sqlite_engine: Engine,
        matchers: Matchers,
        reply: Reply,
        reason: str,
    ) -> None:
        self.kind.serve(platform, self.kind.secret)
        platform.fail(self.kind.fail_path, reply)
        crawl_once(self.kind.settings(platform, tmp_path), sqlite_engine, matchers, T0)
        assert source_row(sqlite_engine, self.kind.source).last_error.startswith(reason)
        assert stored(sqlite_engine) == {}


class SecretNeverShown(_Contract):
    def test_a_refused_secret_reads_as_refused_and_is_never_shown(
        self,
        platform: FakePlatform,
        tmp_path: Path,
        sqlite_engine: Engine,
        matchers: Matchers,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        self.kind.serve(platform, WRONG_SECRET)
        settings = self.kind.settings(platform, tmp_path)
        with caplog.at_level(logging.DEBUG):
            [report] = crawl_once(settings, sqlite_engine, matchers, T0)
        row = source_row(sqlite_engine, self.kind.source)
        assert row.last_error.startswith(self.kind.refused)
        secret = self.kind.secret
        assert not places_showing(secret, sqlite_engine, row, report, settings, caplog.text)
        self.also_when_refused(platform, row, settings)

    def also_when_refused(self, platform: FakePlatform, row: Any, settings: Settings) -> None:
        """What a kind checks besides, after the refusal (nothing unless it says so)."""
