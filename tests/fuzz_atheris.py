"""Coverage-guided fuzzing with atheris (libFuzzer) of the parsers that read untrusted
input; complements the hypothesis suite (tests/test_fuzz.py), which generates structured
documents, by mutating raw bytes towards new code paths.

Run one target: ``python -m tests.fuzz_atheris TARGET [libFuzzer flags]``, e.g.
``python -m tests.fuzz_atheris sources -runs=20000 -max_len=8192``. TARGET:

- ``sources``: any bytes through every source adapter (feed, wordpress, discourse, reddit,
  html) in every request role: a parse result (posts or a named failure), never an
  exception;
- ``settings``: any bytes read as TOML then validated: settings, or one ConfigError that
  lists its problems one line each;
- ``brands``: any text through brand matching: mentions that point inside the text.

An uncaught exception or an input over ``-timeout`` seconds stops the run with a non-zero
exit status and the input saved as ``crash-*`` / ``timeout-*`` (tests/test_fuzz_atheris.py
runs each target in CI). Memory is bounded by ``STORMWATCH_FUZZ_MEMORY_MB`` (an address
space limit: an allocation past it is a MemoryError, i.e. a crash), not by libFuzzer's
``-rss_limit_mb``: that reads the process's peak RSS, which Linux carries over from the
parent across fork and exec, so a campaign started by a large test process was reported
out of memory before its first input.
"""

from __future__ import annotations

import os
import resource
import sys
import tomllib
from collections.abc import Callable

import atheris

with atheris.instrument_imports(include=["monitor", "feedparser"]):  # not all of pydantic &c.
    from monitor.errors import ConfigError
    from monitor.match.brands import BrandMatcher, BrandSpec
    from monitor.settings import parse_settings
    from monitor.sources import adapter_for
    from monitor.sources.base import Request

KINDS = ("feed", "wordpress", "discourse", "reddit", "html")
ROLES = ("index", "comments", "topic")
MATCHER = BrandMatcher(
    [
        BrandSpec("Nordtel", aliases=("#nordtel", "nordtel.dk")),
        BrandSpec("Ørestad Energi", aliases=("Orestad",)),
        BrandSpec("Kvarnbo Försäkring"),
    ]
)


def sources(data: bytes) -> None:
    for kind in KINDS:
        for role in ROLES:
            request = Request("https://x.dk/feed/", role, thread_url="https://x.dk/t/1")
            parsed = adapter_for(kind).parse(request, data, {})
            if not (parsed.failed or isinstance(parsed.posts, list)):
                raise AssertionError(f"{kind}/{role}: neither posts nor a failure")
            for post in parsed.posts:
                if not isinstance(post.text, str) or "\x00" in post.text:
                    raise AssertionError(f"{kind}/{role}: bad text {post.text!r:.80}")


def settings(data: bytes) -> None:
    try:
        raw = tomllib.loads(data.decode("utf-8", errors="replace"))
    except tomllib.TOMLDecodeError:
        return  # not TOML: the loader reports that first (tests/monitor/test_settings.py)
    try:
        parse_settings(raw, "fuzz")
    except ConfigError as exc:
        if not exc.problems or any("\n" in p or not p for p in exc.problems):
            raise AssertionError(f"problems not one line each: {exc.problems!r}") from None


def brands(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    for mention in MATCHER.mentions(text):
        if not 0 <= mention.start <= mention.end <= len(text):
            raise AssertionError(f"mention outside the text: {mention}")


TARGETS: dict[str, Callable[[bytes], None]] = {
    "sources": sources,
    "settings": settings,
    "brands": brands,
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        raise SystemExit(f"usage: python -m tests.fuzz_atheris {{{'|'.join(TARGETS)}}} [flags]")
    limit_mb = int(os.environ.get("STORMWATCH_FUZZ_MEMORY_MB", "0"))
    if limit_mb:  # an input that allocates past it raises MemoryError: a reported crash
        resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
