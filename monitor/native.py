"""Native-heap settings for a long-running daemon (glibc only; elsewhere nothing happens).

glibc gives every thread that allocates its own malloc arena (up to 8 x cores). The crawl
parses feeds and writes batches on worker threads, so freed memory ends up scattered over
many arenas that are rarely handed back, and two arenas lower the crawl's peak RSS
markedly (benchmarks/crawl.py; figures in benchmarks/RESULTS.md, "Malloc arenas").
``MALLOC_ARENA_MAX=2`` is the setting commonly recommended for Ruby and Java
services for the same reason. ``limit_arenas()`` applies it at start-up (before the worker
threads exist); an operator's own ``MALLOC_ARENA_MAX`` in the environment wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_ARENA_MAX = -8  # from glibc's malloc.h
ARENAS = 2


def limit_arenas(arenas: int = ARENAS, environ: dict[str, str] | None = None) -> bool:
    """Cap glibc's malloc arenas; True if it was set here."""
    if "MALLOC_ARENA_MAX" in (environ if environ is not None else os.environ):
        return False
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, arenas))


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "gnu_get_libc_version") else None
