"""The parse-and-match step of the crawl, off the event loop: a worker thread or a worker process.

:func:`read_response` turns one fetched response into posts matched to brands and a
language, plus the follow-up requests it names. It is pure CPU work with no database.
Where it runs is a :class:`Reader`:

- :class:`ProcessReader` (``[crawl] parse_processes`` >= 1, the default 1): in worker
  processes. In one process, feedparser, language identification and storage are each a
  large share of a first sweep and all three hold the GIL, so on the thread they took turns
  on one core while the second idled (benchmarks/RESULTS.md, "Parse workers"). A worker process
  parses on the second core while this process fetches and stores.
- :class:`ThreadReader` (``parse_processes = 0``): in a worker thread of this process (one
  core, no extra process; for machines with one core or tight memory).

Decisions:

- **Spawned, not forked**: the daemon may hold torch and its thread pool; forking a process
  with threads is unsafe. A worker starts once per reader, builds its own brand and
  language matchers from the settings and loads lingua before its first read.
- **Light workers**: a worker gets a :class:`ReadConfig` (brands, languages, per-source
  kind and limits as plain data) and imports only the adapters, the matchers and the record
  type — not pydantic, SQLAlchemy, httpx or the alert channels (less memory per worker).
- **Small messages**: in goes the source's name, the request and the response (body bytes,
  headers as a plain dict); out come the candidate records, follow-ups, warnings and the
  unmatched count — never the parsed posts twice.
- **Signals go to the parent**: workers ignore SIGINT and SIGTERM (a terminal's Ctrl-C and
  systemd's stop reach the whole process group); the parent's orderly shutdown closes the
  pool; a worker whose parent was killed outright notices within
  :data:`PARENT_CHECK_S` and exits (it would never read EOF from its task pipe).
- **A dead worker costs one retry, not the pass**: a worker killed (the kernel's OOM
  killer, a crash in a C parser) breaks its pool; the reader replaces the pool and reads
  the response again once. A second death fails that one source for this pass with kind
  ``parse`` (retried with backoff next pass); every other source goes on.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from monitor.canonical import canonical_url, post_id
from monitor.errors import FetchError, WorkerError
from monitor.match.brands import BrandMatcher, BrandSpec
from monitor.match.language import LanguageDetector
from monitor.native import limit_arenas
from monitor.parse.text import clip, content_hash
from monitor.sources import RawPost, Request, adapter_for
from monitor.storage.records import PostRecord

if TYPE_CHECKING:  # annotations only: the workers import none of the settings/HTTP stack
    from monitor.fetch import Fetched
    from monitor.settings import Settings, SourceSettings

    # One response to read: the source, what was asked, what came. Pushed documents come
    # many at a time (monitor/push/intake.py): one hand-over to a worker for a batch.
    Item = tuple[SourceSettings, Request, Fetched]

_R = TypeVar("_R")

__all__ = [
    "Candidate",
    "Matchers",
    "ProcessReader",
    "ReadConfig",
    "Reader",
    "Reading",
    "SourceView",
    "ThreadReader",
    "make_matchers",
    "make_reader",
    "max_follow",
    "read_config",
    "read_response",
]

log = logging.getLogger("stormwatch.crawl")

PARENT_CHECK_S = 0.5  # how often a worker checks that its parent is alive


@dataclass(frozen=True)
class Matchers:
    brands: BrandMatcher
    language: LanguageDetector


@dataclass(frozen=True)
class SourceView:
    """What reading needs to know of a source."""

    name: str
    kind: str
    max_follow: int
    brand: str | None
    lang: str | None


@dataclass(frozen=True)
class ReadConfig:
    """The part of the settings reading needs: plain data, cheap to send to a worker and
    importable there without pydantic, SQLAlchemy or the alert channels."""

    brands: tuple[BrandSpec, ...]
    languages: tuple[str, ...]
    keep_unmatched: bool
    sources: Mapping[str, SourceView]


def max_follow(settings: Settings, conf: SourceSettings) -> int:
    return conf.max_follow if conf.max_follow is not None else settings.crawl.max_follow


def read_config(settings: Settings) -> ReadConfig:
    return ReadConfig(
        brands=tuple(
            BrandSpec(b.name, (b.name, *b.aliases), tuple(b.excludes)) for b in settings.brands
        ),
        languages=tuple(settings.crawl.languages),
        keep_unmatched=settings.crawl.keep_unmatched,
        sources={
            s.name: SourceView(s.name, s.kind, max_follow(settings, s), s.brand, s.lang)
            for s in settings.sources
        },
    )


def make_matchers(config: ReadConfig) -> Matchers:
    return Matchers(BrandMatcher(list(config.brands)), LanguageDetector(config.languages))


@dataclass
class Candidate:
    """A matched post before storage. ``record.brands`` may be empty for a comment whose
    brands come from its thread: the writer resolves that in its transaction."""

    record: PostRecord
    is_comment: bool


@dataclass
class Reading:
    """What one response held, as the crawl needs it."""

    candidates: list[Candidate] = field(default_factory=list)
    follow: list[Request] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed: bool = False  # nothing usable came out: the fetch counts as an error
    unmatched: int = 0
    marks: dict[str, str] = field(default_factory=dict)  # API kinds: see Parsed.marks


def read_response(
    config: ReadConfig,
    matchers: Matchers,
    source: SourceView,
    request: Request,
    body: bytes,
    headers: Mapping[str, str],
) -> Reading:
    """Parse a response with the source's adapter and match its posts (CPU only)."""
    adapter = adapter_for(source.kind, max_follow=source.max_follow)
    parsed = adapter.parse(request, body, headers)
    candidates = _candidates(config, matchers, source, parsed.posts)
    return Reading(
        candidates,
        parsed.follow,
        parsed.warnings,
        parsed.failed,
        len(parsed.posts) - len(candidates),
        parsed.marks,
    )


def _candidates(
    config: ReadConfig, matchers: Matchers, conf: SourceView, posts: Sequence[RawPost]
) -> list[Candidate]:
    texts = [f"{p.title or ''}\n{p.text}" for p in posts]
    brands = [_brands(matchers, conf, text) for text in texts]
    keep = [
        i
        for i, (found, _) in enumerate(brands)
        if found or posts[i].is_comment or config.keep_unmatched
    ]
    langs = matchers.language.detect_many(
        [texts[i] for i in keep], [conf.lang or posts[i].lang_hint for i in keep]
    )
    return [
        Candidate(_record(posts[i], *brands[i], lang), posts[i].is_comment)
        for i, lang in zip(keep, langs, strict=True)
    ]


def _brands(matchers: Matchers, conf: SourceView, text: str) -> tuple[list[str], str | None]:
    """Named reasons: ``mention`` (the post names the brand), ``source`` (a brand-owned
    source such as its own forum); ``thread`` is decided by the writer."""
    found = matchers.brands.match(text)
    if found:
        return found, "mention"
    if conf.brand:
        return [conf.brand], "source"
    return [], None


def _record(post: RawPost, brands: list[str], reason: str | None, lang: str | None) -> PostRecord:
    canonical = canonical_url(post.url)
    pid = post_id(canonical)
    thread_id = post_id(canonical_url(post.thread_url)) if post.thread_url else pid
    parent = post_id(canonical_url(post.parent_url)) if post.parent_url else None
    return PostRecord(
        id=pid,
        canonical_url=canonical[:2000],
        kind="comment" if post.is_comment else "post",
        thread_id=thread_id,
        parent_id=parent if parent != pid else None,
        external_id=clip(post.external_id, 500),
        author=clip(post.author, 300),
        title=clip(post.title, 1000),
        text=post.text,
        published_at=post.published_at,
        lang=lang,
        brands=tuple(brands),
        brand_reason=reason,
        content_hash=content_hash(post.title, post.text),
        rating=post.rating,
    )


class Reader(Protocol):
    """Where :func:`read_response` runs; ``load`` before the first fetch, ``close`` at the end."""

    def load(self) -> None: ...

    async def read(self, conf: SourceSettings, request: Request, fetched: Fetched) -> Reading: ...

    async def read_many(self, items: Sequence[Item]) -> list[Reading]: ...

    def close(self) -> None: ...


class ThreadReader:
    """Reads in a worker thread of this process."""

    def __init__(self, config: ReadConfig, matchers: Matchers) -> None:
        self.config, self.matchers = config, matchers

    def load(self) -> None:
        # Building lingua holds the GIL for seconds: do it before any fetch is in flight.
        self.matchers.language.load()

    async def read(self, conf: SourceSettings, request: Request, fetched: Fetched) -> Reading:
        source = self.config.sources[conf.name]
        return await asyncio.to_thread(
            read_response,
            self.config,
            self.matchers,
            source,
            request,
            fetched.body,
            fetched.headers,
        )

    async def read_many(self, items: Sequence[Item]) -> list[Reading]:
        def read_all() -> list[Reading]:
            return [
                read_response(
                    self.config, self.matchers, self.config.sources[c.name], r, f.body, f.headers
                )
                for c, r, f in items
            ]

        return await asyncio.to_thread(read_all)

    def close(self) -> None:
        return None


# --- worker processes --------------------------------------------------------------------

_worker: tuple[ReadConfig, Matchers] | None = None


def _init_worker(config: ReadConfig) -> None:
    global _worker
    # The parent owns the workers' lifetime: Ctrl-C in a terminal and systemd's SIGTERM go
    # to the whole process group, and the parent's orderly shutdown stops the pool itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    # lingua detects one text at a time here: its thread pool would only load the language
    # models in parallel, which raised the worker's start-up peak (an operator's own
    # setting wins). Fewer threads also means fewer malloc arenas (monitor/native.py).
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    limit_arenas()
    matchers = make_matchers(config)
    matchers.language.load()
    _worker = (config, matchers)


def _exit_with_parent(parent: int) -> None:
    """A worker outlives a parent killed with SIGKILL: it holds both ends of its task pipe,
    so it never reads EOF, and it would keep the parent's stdout open. Re-parented means
    orphaned: exit."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _read_in_worker(name: str, request: Request, body: bytes, headers: dict[str, str]) -> Reading:
    assert _worker is not None, "worker not initialised"
    config, matchers = _worker
    return read_response(config, matchers, config.sources[name], request, body, headers)


def _read_many_in_worker(jobs: list[tuple[str, Request, bytes, dict[str, str]]]) -> list[Reading]:
    return [_read_in_worker(*job) for job in jobs]


def _ready() -> bool:
    return _worker is not None


class ProcessReader:
    """Reads in ``processes`` spawned worker processes (see the module docstring)."""

    def __init__(self, config: ReadConfig, processes: int) -> None:
        self.config, self.processes = config, processes
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def load(self) -> None:
        """Start the workers and wait until they have loaded their matchers; a broken pool
        (a worker killed since the last pass) is replaced once."""
        for attempt in (1, 2):
            pool = self._current()
            try:
                for future in [pool.submit(_ready) for _ in range(self.processes)]:
                    future.result()
                return
            except BrokenProcessPool as exc:
                self._replace(pool)
                if attempt == 2:
                    raise WorkerError(
                        f"The crawl's parse workers died while starting ({exc}); see the log "
                        "above, or set [crawl] parse_processes = 0 to parse in this process."
                    ) from None
                log.warning("a parse worker had died since the last pass; workers restarted")

    async def read(self, conf: SourceSettings, request: Request, fetched: Fetched) -> Reading:
        headers = dict(fetched.headers)  # a MappingProxy does not pickle
        job = (conf.name, request, fetched.body, headers)
        return await self._submit(_read_in_worker, job, request.url)

    async def read_many(self, items: Sequence[Item]) -> list[Reading]:
        jobs = [(c.name, r, f.body, dict(f.headers)) for c, r, f in items]
        return await self._submit(_read_many_in_worker, (jobs,), items[0][1].url)

    async def _submit(self, work: Callable[..., _R], args: tuple[Any, ...], url: str) -> _R:
        """``work(*args)`` on a worker; a pool broken meanwhile is replaced and the work
        sent once more."""
        for attempt in (1, 2):
            pool = self._current()
            try:
                return await asyncio.wrap_future(pool.submit(work, *args))
            except BrokenProcessPool:
                self._replace(pool)
                log.warning(
                    "a parse worker died reading %s (attempt %d); workers restarted", url, attempt
                )
        raise FetchError("parse", "the parse worker died twice on this response", url=url)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self.config,),
                )
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)


def make_reader(config: ReadConfig, matchers: Matchers, processes: int) -> Reader:
    """The reader ``[crawl] parse_processes`` asks for: 0 is a thread of this process."""
    if processes == 0:
        return ThreadReader(config, matchers)
    return ProcessReader(config, processes)
