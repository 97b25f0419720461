"""The crawl stage of the pipeline: fetch -> parse -> match -> store, per source.

One pass over a set of sources:

1. ``_plan`` (one transaction): make the sources table match the config, and read every
   chosen source's URL validators (ETag / Last-Modified) and every host's backoff.
2. Per source, concurrently across hosts (the fetcher keeps one request per host): the
   adapter names the first requests; each response is parsed into posts and further
   requests (comment feeds, forum topics); posts are matched to brands and a language.
   Parsing and matching run off the event loop, in worker processes by default
   (:mod:`monitor.stages.read`: the second core parses while this process fetches and stores).
3. ``PassWriter`` stores the results in batches: a source's posts, its validators and its
   health (last success or last error and its kind, consecutive failures, next due time
   with backoff) go into the SAME transaction. A crash therefore never leaves a validator
   without the posts it stood for: the next pass simply fetches that URL again.

Batching is the decision that makes a pass over 10,000 sources cost little more than the
fetches themselves: per-source transactions cost more than a 304 answer does.

The writer double-buffers: one batch is written (in a worker thread) while the next one
fills, and a source only hands its result over while it still holds its fetch slot. When
the next batch is full before the previous write is done, fetching waits (backpressure).
Without it, fetching outran the store and every parsed feed waited in memory at once;
this bounds what waits to two batches.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.errors import FetchError
from monitor.fetch import Conditional, Fetched, Fetcher, redact_url
from monitor.fetch.backoff import next_delay, quota_spent
from monitor.settings import Settings, SourceSettings
from monitor.sources import ApiAdapter, Request, adapter_for
from monitor.sources.api import Walk, health_reason, load_marks, save_marks, spend
from monitor.stages.read import Candidate, Reader, Reading, max_follow
from monitor.storage import repo
from monitor.storage.db import session_scope

log = logging.getLogger("stormwatch.crawl")


@dataclass
class CrawlReport:
    """What one pass over one source did (printed by ``crawl --once``, logged by the daemon)."""

    source: str
    requests: int = 0
    not_modified: int = 0
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    unmatched: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None
    retry_after: float | None = None
    skipped: str | None = None  # a named reason when the pass did not run (host backoff)
    marks: dict[str, str] | None = None  # API kinds: the source's marks after this pass
    quota_wait: float | None = None  # API kinds: the host said its quota is spent


@dataclass
class SourceResult:
    """Everything a pass learned about one source, written in one transaction."""

    source_id: int
    report: CrawlReport
    candidates: list[Candidate] = field(default_factory=list)
    validators: list[Fetched] = field(default_factory=list)


@dataclass
class Plan:
    ids: dict[str, int]
    validators: dict[int, dict[str, Conditional]]
    backoff: dict[str, datetime]
    sources: dict[int, repo.SourceRow]  # as read at the start: only this pass changes them
    state_ids: dict[tuple[int, str], int]  # fetch_state rows by (source, URL): no lookups


class Crawler:
    """The crawl stage (``name = "crawl"``): fetch due sources, read them, store posts."""

    name = "crawl"

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        fetcher: Fetcher,
        reader: Reader,
        *,
        rand: Callable[[], float] = random.random,
        batch_posts: int = 2000,
        batch_sources: int = 200,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.fetcher = fetcher
        self.reader = reader
        self.rand = rand
        self.batch_posts = batch_posts
        self.batch_sources = batch_sources
        # Sources whose pushes are live (monitor/push): polled every [push] poll_interval
        # instead of their own interval, as a safety net for a hub that drops deliveries.
        self.pushed: set[str] = set()

    async def run(self, now: datetime) -> list[CrawlReport]:
        """:class:`monitor.stages.Stage`: one pass over the due sources."""
        return await self.crawl_due(now)

    async def crawl_due(self, now: datetime) -> list[CrawlReport]:
        """Crawl every enabled source whose next due time has come."""
        plan = await asyncio.to_thread(self._plan, now, None)
        return await self._crawl(plan, now)

    async def crawl(
        self, names: Sequence[str], now: datetime, *, sync: bool = True
    ) -> list[CrawlReport]:
        """Crawl the named sources now, due or not (``crawl --once``). ``sync=False`` takes
        the sources table as it is instead of matching it to the config first (cluster
        mode, monitor.runner.cluster: its tick does that once per period, not once per source)."""
        plan = await asyncio.to_thread(self._plan, now, list(names), sync)
        return await self._crawl(plan, now)

    async def _crawl(self, plan: Plan, now: datetime) -> list[CrawlReport]:
        """``[network] concurrency`` lanes take the pass's sources one at a time, not a
        task per source waiting on a semaphore: fewer waiting tasks cost this process less
        CPU in a sweep of 304s (benchmarks/RESULTS.md, "Crawl lanes")."""
        writer = PassWriter(self, now, plan)
        reports: dict[str, CrawlReport] = {}
        names = iter(plan.ids)  # shared: each name is taken by exactly one lane

        async def lane() -> None:
            for name in names:
                result = await self._crawl_source(self.settings.source(name), plan, now)
                await writer.add(result)  # handed over inside the lane: backpressure
                reports[name] = result.report

        lanes = min(self.settings.network.concurrency, len(plan.ids))
        try:
            await asyncio.gather(*(lane() for _ in range(lanes)))
        finally:
            await writer.flush()
        ordered = [reports[name] for name in plan.ids]
        for report in ordered:
            _log_report(report)
        return ordered

    async def trial(self, name: str, now: datetime) -> SourceResult:
        """Crawl one source as a first pass would (no validators, no marks, no host
        backoff) and return what it found without storing anything: ``sources test``."""
        conf = self.settings.source(name)
        row = repo.SourceRow(0, conf.name, conf.kind, conf.url, conf.brand, conf.lang, 0.0, True, 0)
        plan = Plan({conf.name: 0}, {}, {}, {0: row}, {})
        await asyncio.to_thread(self.reader.load)
        return await self._crawl_source(conf, plan, now)

    async def read_pushed(self, documents: Sequence[Pushed]) -> list[SourceResult]:
        """Pushed documents (feeds a hub delivered, streamed statuses) read exactly as
        fetched ones: each source's adapter, brands and language, on the parse workers,
        handed over together."""
        items = [(self.settings.source(d.source), d.request, d.fetched()) for d in documents]
        readings = await self.reader.read_many(items) if items else []
        return [_pushed_result(d, r) for d, r in zip(documents, readings, strict=True)]

    def store_pushed(self, results: Sequence[SourceResult], now: datetime) -> None:
        """Store pushed results in one transaction (the same store, dedup and thread
        brands as a pass), leaving the sources' health and validators to their polls."""
        with session_scope(self.engine) as session:
            names = sorted({r.report.source for r in results})
            ids = {n: r.id for n, r in repo.source_rows(session, names).items()}
            if len(ids) < len(names):  # pushed before the first pass synced the table
                ids = {n: r.id for n, r in repo.sync_sources(session, self.settings, now).items()}
            known = [r for r in results if r.report.source in ids]
            for result in results:
                if result.report.source in ids:
                    result.source_id = ids[result.report.source]
                else:  # removed from the settings by a reload since it was pushed
                    result.report.error, result.report.error_kind = "no such source", "parse"
            writer = PassWriter(self, now, Plan(ids, {}, {}, {}, {}))
            records = [(r.source_id, writer.resolve_threads(session, r)) for r in known]
            stored = repo.store_posts_many(session, records, now)
            for result, outcome in zip(known, stored, strict=True):
                result.report.new, result.report.updated = outcome.new, outcome.updated
                result.report.unchanged = outcome.unchanged

    def _plan(self, now: datetime, names: list[str] | None, sync: bool = True) -> Plan:
        # Ready the reader (worker processes, language models) before any fetch starts:
        # that takes seconds, which would otherwise eat into in-flight fetches' deadlines.
        self.reader.load()
        with session_scope(self.engine) as session:
            if sync or names is None:
                rows = repo.sync_sources(session, self.settings, now)
            else:
                rows = repo.source_rows(session, names)
            chosen = (
                repo.due_sources(session, now)
                if names is None
                else [rows[n] for n in names if sync or n in rows]
            )
            live = [s for s in chosen if s.enabled]
            ids = {s.name: s.id for s in live}
            validators: dict[int, dict[str, Conditional]] = {}
            state_ids: dict[tuple[int, str], int] = {}
            for state in repo.validators_of(session, list(ids.values())):
                state_ids[(state.source_id, state.url)] = state.id
                if state.etag or state.last_modified:
                    cond = Conditional(etag=state.etag, last_modified=state.last_modified)
                    validators.setdefault(state.source_id, {})[state.url] = cond
            backoff = repo.host_backoffs(session, now)
            return Plan(ids, validators, backoff, {s.id: s for s in live}, state_ids)

    async def _crawl_source(self, conf: SourceSettings, plan: Plan, now: datetime) -> SourceResult:
        result = SourceResult(plan.ids[conf.name], CrawlReport(conf.name))
        until = plan.backoff.get(_host(conf.url))
        if until is not None:
            result.report.skipped = f"host backing off until {until.isoformat()}"
            return result
        adapter = adapter_for(conf.kind, max_follow=max_follow(self.settings, conf))
        api = adapter if isinstance(adapter, ApiAdapter) else None
        try:
            if api is None:
                queue = adapter.start(conf)
            else:
                marks = load_marks(plan.sources[result.source_id].cursor)
                queue = api.resume(conf, marks, now)
                result.report.marks = marks
            await self._walk(conf, plan.validators.get(result.source_id, {}), result, queue, now)
        except FetchError as exc:
            report = result.report
            report.error, report.error_kind, report.retry_after = (
                str(exc) if api is None else _reason(exc, now, api),
                exc.kind,
                exc.retry_after,
            )
        return result

    async def _walk(
        self,
        conf: SourceSettings,
        validators: dict[str, Conditional],
        result: SourceResult,
        queue: list[Request],
        now: datetime,
    ) -> None:
        """Breadth-first over the adapter's requests. The first request failing fails the
        source; a failing follow-up (one comment feed) is a warning, and its stream (API
        kinds) keeps the mark it had, so what it would have read is read next pass. A URL
        asked for twice (a paging loop) is fetched once; a spent quota ends the walk."""
        loaded = dict(result.report.marks) if result.report.marks is not None else None
        failed: set[str] = set()
        try:
            await self._walk_queue(conf, validators, result, queue, now, failed)
        finally:
            _keep_marks(result.report, loaded, failed)

    async def _walk_queue(
        self,
        conf: SourceSettings,
        validators: dict[str, Conditional],
        result: SourceResult,
        queue: list[Request],
        now: datetime,
        failed: set[str],
    ) -> None:
        budget = len(queue) + max_follow(self.settings, conf)
        report, first, seen = result.report, True, set[str]()
        while queue and budget > 0:
            request, budget = queue.pop(0), budget - 1
            if request.url in seen:
                report.warnings.append(f"{redact_url(request.url)}: asked for again; a loop")
                continue
            seen.add(request.url)
            self._spend(conf, request, report, now)
            try:
                fetched = await self._fetch(conf, request, validators.get(request.url), now)
            except FetchError as exc:
                if first or request.role == "index" or exc.kind == "rate_limited":
                    raise
                report.warnings.append(f"{request.url}: {exc}")
                failed.add(_stream(request))
                continue
            first = False
            report.requests += 1
            if fetched.not_modified:
                report.not_modified += 1
                result.validators.append(fetched)
                continue
            reading = await self.reader.read(conf, request, fetched)
            if reading.failed and request.role == "index":
                raise FetchError("parse", reading.warnings[0], url=request.url)
            report.warnings += reading.warnings
            report.unmatched += reading.unmatched
            result.candidates += reading.candidates
            if not reading.failed:
                result.validators.append(fetched)
            else:
                failed.add(_stream(request))
            queue.extend(reading.follow)
            if reading.marks and report.marks is not None:
                report.marks = {**report.marks, **reading.marks}
            if self._quota_spent(report, fetched, now) and queue:
                break
        if queue:  # the quota or the follow budget ran out: these streams read next pass
            failed.update(_stream(r) for r in queue)
            if budget <= 0:
                report.warnings.append(
                    f"{len(queue)} request(s) left for the next pass (max_follow reached)"
                )

    async def _fetch(
        self, conf: SourceSettings, request: Request, conditional: Conditional | None, now: datetime
    ) -> Fetched:
        """One request; an API source's signed, and signed afresh once if the platform
        refused a session that can be renewed (an expired token)."""
        adapter = adapter_for(conf.kind, max_follow=max_follow(self.settings, conf))
        api = adapter if isinstance(adapter, ApiAdapter) else None
        robots = conf.respect_robots
        if api is None or _host(request.url) != _host(conf.url):
            api = None  # credentials go to the configured API host only
        headers = await api.sign(conf, self.fetcher, now) if api else None
        try:
            return await self.fetcher.fetch(
                request.url, conditional=conditional, respect_robots=robots, headers=headers
            )
        except FetchError as exc:
            if api is None or exc.kind != "http_status" or not api.renew(conf, exc.status):
                raise
        headers = await api.sign(conf, self.fetcher, now)
        return await self.fetcher.fetch(
            request.url, conditional=conditional, respect_robots=robots, headers=headers
        )

    def _spend(
        self, conf: SourceSettings, request: Request, report: CrawlReport, now: datetime
    ) -> None:
        """Count the platform's quota units for ``request`` (YouTube) in the source's
        marks, before it is sent: a refused call costs too."""
        adapter = adapter_for(conf.kind, max_follow=max_follow(self.settings, conf))
        units = adapter.cost(request) if isinstance(adapter, ApiAdapter) else 0
        if units and report.marks is not None:
            report.marks = spend(report.marks, units, now)

    def _quota_spent(self, report: CrawlReport, fetched: Fetched, now: datetime) -> bool:
        """True when the answer says no requests are left until its reset (the host then
        waits, persisted, like after a 429); the rest of the walk is left for later."""
        wait = quota_spent(fetched.headers, now)
        if wait is None:
            return False
        report.quota_wait = wait
        until = (now + timedelta(seconds=wait)).strftime("%H:%M UTC")
        report.warnings.append(f"rate limited until {until}: quota spent, the rest next pass")
        return True


class PassWriter:
    """Collects SourceResults and writes them in batches (one transaction per batch)."""

    def __init__(self, crawler: Crawler, now: datetime, plan: Plan) -> None:
        self.crawler = crawler
        self.now = now
        self.sources = plan.sources
        self.state_ids = plan.state_ids
        self.pending: list[SourceResult] = []
        self.pending_posts = 0
        self.thread_brands: dict[str, list[str]] = {}
        self._lock = asyncio.Lock()
        self._writing: asyncio.Future[None] | None = None

    async def add(self, result: SourceResult) -> None:
        """Queue a source's result; a full batch starts writing in the background once the
        previous write is done (waiting for it here is the backpressure)."""
        self.pending.append(result)
        self.pending_posts += len(result.candidates)
        full = self.pending_posts >= self.crawler.batch_posts
        if full or len(self.pending) >= self.crawler.batch_sources:
            async with self._lock:
                await self._written()
                batch = self._take()
                if batch:
                    self._writing = asyncio.ensure_future(asyncio.to_thread(self._write, batch))

    async def flush(self) -> None:
        """Finish the write in flight, then write what is left; raises a failed write."""
        async with self._lock:
            await self._written()
            batch = self._take()
            if batch:
                await asyncio.to_thread(self._write, batch)

    async def _written(self) -> None:
        writing, self._writing = self._writing, None
        if writing is not None:
            await writing

    def _take(self) -> list[SourceResult]:
        batch, self.pending, self.pending_posts = self.pending, [], 0
        return batch

    def _write(self, batch: list[SourceResult]) -> None:
        """One transaction: every source's posts, then its validators and its health, as a
        few bulk statements (no ORM object per source: a batch of 304s would otherwise
        cost more to record than to fetch)."""
        with session_scope(self.crawler.engine) as session:
            live = [result for result in batch if not result.report.skipped]
            records = [(r.source_id, self.resolve_threads(session, r)) for r in live]
            stored = repo.store_posts_many(session, records, self.now)  # no posts: no query
            answers: list[repo.Answer] = []
            changes: list[dict[str, Any]] = []
            for result, outcome in zip(live, stored, strict=True):
                report = result.report
                report.new, report.updated = outcome.new, outcome.updated
                report.unchanged = outcome.unchanged
                answers += [self._answer(result.source_id, f) for f in result.validators]
                source = self.sources[result.source_id]
                changes.append(self._health(source, report))
                if report.error_kind == "rate_limited" or report.quota_wait is not None:
                    self._back_off_host(session, source.url, report)
            repo.save_fetch_states(session, answers, self.now)
            repo.update_sources(session, changes)

    def _answer(self, source_id: int, fetched: Fetched) -> repo.Answer:
        state_id = self.state_ids.get((source_id, fetched.url))
        etag, last_modified = fetched.etag, fetched.last_modified
        return repo.Answer(source_id, fetched.url, fetched.status, etag, last_modified, state_id)

    def _health(self, source: repo.SourceRow, report: CrawlReport) -> dict[str, Any]:
        settings, rand = self.crawler.settings, self.crawler.rand
        if source.name in self.crawler.pushed:
            source = replace(source, interval_s=max(source.interval_s, settings.push.poll_interval))
        return {"id": source.id, **health_changes(source, report, self.now, settings, rand)}

    def resolve_threads(self, session: Session, result: SourceResult) -> list[repo.PostRecord]:
        """A comment that names no brand inherits its thread's brands ("Same here, three
        weeks now" under a post about Nordtel), with reason ``thread``; else it is dropped."""
        orphans = {c.record.thread_id for c in result.candidates if not c.record.brands}
        missing = [t for t in orphans if t and t not in self.thread_brands]
        self.thread_brands.update(repo.brands_of(session, missing))
        records = []
        for candidate in result.candidates:
            record = candidate.record
            if record.brands:
                if not candidate.is_comment:
                    self.thread_brands[record.id] = list(record.brands)
                records.append(record)
                continue
            inherited = self.thread_brands.get(record.thread_id or "")
            if inherited:
                records.append(_with_brands(record, inherited))
            else:
                result.report.unmatched += 1
        return records

    def _back_off_host(self, session: Session, url: str, report: CrawlReport) -> None:
        host = _host(url)
        state = repo.host_state(session, host)
        crawl = self.crawler.settings.crawl
        delay = next_delay(
            (state.consecutive_failures if state else 0) + 1,
            base=crawl.backoff_base,
            cap=crawl.backoff_cap,
            retry_after=report.retry_after if report.quota_wait is None else report.quota_wait,
            rand=self.crawler.rand,
        )
        until = self.now + timedelta(seconds=delay)
        repo.record_host_result(
            session, host, backoff_until=until, status=None, reason=(report.error or "")[:300]
        )


@dataclass(frozen=True)
class Pushed:
    """A document pushed to us for a source: read as if ``request`` had answered it."""

    source: str
    request: Request
    body: bytes
    headers: Mapping[str, str]

    def fetched(self) -> Fetched:
        url = self.request.url
        return Fetched(url, url, 200, dict(self.headers), self.body, 0.0, None, None)


def _pushed_result(document: Pushed, reading: Reading) -> SourceResult:
    report = CrawlReport(document.source, requests=1, warnings=list(reading.warnings))
    report.unmatched = reading.unmatched
    if reading.failed:
        report.error = reading.warnings[0] if reading.warnings else "nothing usable in it"
        report.error_kind = "parse"
    return SourceResult(0, report, reading.candidates)


def _with_brands(record: repo.PostRecord, brands: list[str]) -> repo.PostRecord:
    return replace(record, brands=tuple(brands), brand_reason="thread")


def health_changes(
    source: repo.SourceRow,
    report: CrawlReport,
    now: datetime,
    settings: Settings,
    rand: Callable[[], float],
) -> dict[str, Any]:
    """The source's new health, as column values. Success: due again after its interval
    (+/- jitter). Failure: a readable last_error, one more consecutive failure, and
    exponential backoff (capped) before the next try."""
    crawl = settings.crawl
    changes: dict[str, Any] = {
        "last_attempt_at": now,
        "warnings": len(report.warnings),
        "last_warning": report.warnings[0][:1000] if report.warnings else None,
    }
    if report.marks is not None:  # API kinds: saved with the posts they stand for
        changes["cursor"] = save_marks(report.marks)
    if report.error is None:
        spread = 1 + crawl.jitter * (2 * rand() - 1)
        return changes | {
            "last_success_at": now,
            "consecutive_failures": 0,
            repo.POSTS_ADDED: len(report.new),
            "next_due_at": now + timedelta(seconds=source.interval_s * spread),
        }
    failures = source.consecutive_failures + 1
    delay = next_delay(
        failures,
        base=max(crawl.backoff_base, source.interval_s),
        cap=crawl.backoff_cap,
        retry_after=report.retry_after,
        rand=rand,
    )
    return changes | {
        "last_error": report.error[:1000],
        "last_error_kind": report.error_kind,
        "last_error_at": now,
        "consecutive_failures": failures,
        "next_due_at": now + timedelta(seconds=delay),
    }


def _reason(error: FetchError, now: datetime, api: ApiAdapter) -> str:
    return health_reason(error, now, api.keyless, api.refused, api.refused_on)


def _stream(request: Request) -> str:
    """The API stream a request walks ("" for none)."""
    return Walk.decode(request).stream if request.cursor else ""


def _keep_marks(report: CrawlReport, loaded: dict[str, str] | None, failed: set[str]) -> None:
    """A stream with a failed request keeps the mark it had before this pass."""
    if report.marks is None or loaded is None:
        return
    for stream in failed - {""}:
        if stream in loaded:
            report.marks[stream] = loaded[stream]
        else:
            report.marks.pop(stream, None)


def _host(url: str) -> str:
    parts = urlsplit(url)
    return (parts.hostname or "").lower() + (f":{parts.port}" if parts.port else "")


def _log_report(report: CrawlReport) -> None:
    fields = {
        "source": report.source,
        "requests": report.requests,
        "not_modified": report.not_modified,
        "new": len(report.new),
        "updated": len(report.updated),
        "warnings": len(report.warnings),
    }
    if report.error:
        log.warning(
            "crawl failed", extra={**fields, "error": report.error, "kind": report.error_kind}
        )
    elif report.skipped:
        log.info("crawl skipped", extra={**fields, "reason": report.skipped})
    else:
        log.debug("crawl done", extra=fields)
