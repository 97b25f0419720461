"""glibc arena cap: set at start-up unless the operator chose MALLOC_ARENA_MAX."""

from __future__ import annotations

import platform

import pytest

from monitor.native import limit_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_caps_arenas_on_glibc() -> None:
    assert limit_arenas(environ={}) is True


def test_an_operators_own_setting_wins() -> None:
    assert limit_arenas(environ={"MALLOC_ARENA_MAX": "4"}) is False
