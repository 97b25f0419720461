"""The crawl stage of the pipeline: fetch -> parse -> match -> store, per source.

One pass over a source: its adapter names the first requests; each response is parsed
into posts and further requests (comment feeds, forum topics); posts are matched to brands
and a language and stored, deduplicated by canonical URL. The source's health (last
success, last error and its kind, consecutive failures, next due time with backoff) and
each URL's validators (ETag / Last-Modified) are persisted, so a restart resumes politely.

Network I/O runs on the event loop; parsing, matching and storing run in a worker thread
(``asyncio.to_thread``), so the loop stays free for the scheduler and the web UI.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.backoff import next_delay
from monitor.canonical import canonical_url, post_id
from monitor.errors import FetchError
from monitor.fetch import Conditional, Fetched, Fetcher
from monitor.match.brands import BrandMatcher
from monitor.match.language import LanguageDetector
from monitor.parse.text import clip, content_hash
from monitor.settings import Settings, SourceSettings
from monitor.sources import Parsed, RawPost, Request, adapter_for
from monitor.storage import repo
from monitor.storage.db import session_scope
from monitor.storage.models import Source

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
    skipped: str | None = None  # a named reason when the pass did not run (host backoff)

    @property
    def ok(self) -> bool:
        return self.error is None and self.skipped is None


@dataclass(frozen=True)
class Ingested:
    """One response parsed, matched and stored."""

    parsed: Parsed
    stored: repo.StoreResult
    unmatched: int

    def add_to(self, report: CrawlReport) -> None:
        report.new += self.stored.new
        report.updated += self.stored.updated
        report.unchanged += self.stored.unchanged
        report.unmatched += self.unmatched
        report.warnings += self.parsed.warnings


@dataclass(frozen=True)
class Matchers:
    brands: BrandMatcher
    language: LanguageDetector


class Crawler:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        fetcher: Fetcher,
        matchers: Matchers,
        *,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.fetcher = fetcher
        self.matchers = matchers
        self.rand = rand

    async def crawl_due(self, now: datetime) -> list[CrawlReport]:
        """Crawl every enabled source whose next due time has come."""
        names = await asyncio.to_thread(self._due_names, now)
        return await self.crawl(names, now)

    async def crawl(self, names: Sequence[str], now: datetime) -> list[CrawlReport]:
        limit = asyncio.Semaphore(self.settings.network.concurrency)

        async def one(name: str) -> CrawlReport:
            async with limit:
                return await self.crawl_source(self.settings.source(name), now)

        return list(await asyncio.gather(*(one(n) for n in names)))

    def _due_names(self, now: datetime) -> list[str]:
        with session_scope(self.engine) as session:
            repo.sync_sources(session, self.settings, now)
            return [s.name for s in repo.due_sources(session, now)]

    async def crawl_source(self, conf: SourceSettings, now: datetime) -> CrawlReport:
        report = CrawlReport(conf.name)
        source_id, backoff = await asyncio.to_thread(self._prepare, conf, now)
        if backoff is not None:
            report.skipped = f"host backing off until {backoff.isoformat()}"
            return report
        try:
            await self._walk(conf, source_id, report, now)
        except FetchError as exc:
            report.error, report.error_kind = str(exc), exc.kind
            await asyncio.to_thread(self._host_failure, conf.url, exc, now)
        await asyncio.to_thread(self._finish, source_id, report, now)
        _log_report(report)
        return report

    async def _walk(
        self, conf: SourceSettings, source_id: int, report: CrawlReport, now: datetime
    ) -> None:
        """Breadth-first over the adapter's requests. The first request failing fails the
        source; a failing follow-up (one comment feed) is a warning."""
        adapter = adapter_for(conf.kind, max_follow=self._max_follow(conf))
        queue = list(adapter.start(conf))
        budget = len(queue) + self._max_follow(conf)
        first = True
        while queue and budget > 0:
            request, budget = queue.pop(0), budget - 1
            try:
                fetched = await self._fetch(conf, source_id, request)
            except FetchError as exc:
                if first or exc.kind == "rate_limited":
                    raise
                report.warnings.append(f"{request.url}: {exc}")
                continue
            first = False
            report.requests += 1
            if fetched.not_modified:
                report.not_modified += 1
                await asyncio.to_thread(self._save_validators, source_id, fetched, now)
                continue
            done = await asyncio.to_thread(self._ingest, conf, source_id, request, fetched, now)
            if done.parsed.failed and request.role == "index":
                raise FetchError("parse", done.parsed.warnings[0], url=request.url)
            done.add_to(report)
            queue.extend(done.parsed.follow)

    def _max_follow(self, conf: SourceSettings) -> int:
        return conf.max_follow if conf.max_follow is not None else self.settings.crawl.max_follow

    async def _fetch(self, conf: SourceSettings, source_id: int, request: Request) -> Fetched:
        state = await asyncio.to_thread(self._validators, source_id, request.url)
        return await self.fetcher.fetch(
            request.url, conditional=state, respect_robots=conf.respect_robots
        )

    # --- worker-thread steps (blocking: database, parsing, matching) ---------------------

    def _prepare(self, conf: SourceSettings, now: datetime) -> tuple[int, datetime | None]:
        with session_scope(self.engine) as session:
            rows = repo.sync_sources(session, self.settings, now)
            source = rows[conf.name]
            source.last_attempt_at = now
            session.add(source)
            host = repo.host_state(session, _host(conf.url))
            backoff = host.backoff_until if host and host.backoff_until else None
            assert source.id is not None
            return source.id, backoff if backoff and backoff > now else None

    def _validators(self, source_id: int, url: str) -> Conditional | None:
        with session_scope(self.engine) as session:
            state = repo.fetch_state(session, source_id, url)
            if state is None or not (state.etag or state.last_modified):
                return None
            return Conditional(etag=state.etag, last_modified=state.last_modified)

    def _save_validators(self, source_id: int, fetched: Fetched, now: datetime) -> None:
        with session_scope(self.engine) as session:
            _store_validators(session, source_id, fetched, now)

    def _ingest(
        self,
        conf: SourceSettings,
        source_id: int,
        request: Request,
        fetched: Fetched,
        now: datetime,
    ) -> Ingested:
        adapter = adapter_for(conf.kind, max_follow=self._max_follow(conf))
        parsed = adapter.parse(request, fetched.body, fetched.headers)
        with session_scope(self.engine) as session:
            records, unmatched = self._records(session, conf, parsed.posts)
            result = repo.store_posts(session, source_id, records, now)
            if not parsed.failed:
                _store_validators(session, source_id, fetched, now)
        return Ingested(parsed, result, unmatched)

    def _records(
        self, session: Session, conf: SourceSettings, posts: Sequence[RawPost]
    ) -> tuple[list[repo.PostRecord], int]:
        texts = [f"{p.title or ''}\n{p.text}" for p in posts]
        langs = self.matchers.language.detect_many(texts, [conf.lang or p.lang_hint for p in posts])
        threads = [post_id(canonical_url(p.thread_url)) for p in posts if p.is_comment]
        inherited = repo.thread_brands(session, threads)
        records, unmatched = [], 0
        for post, text, lang in zip(posts, texts, langs, strict=True):
            record = self._record(conf, post, text, lang, inherited)
            if record is None:
                unmatched += 1
            else:
                records.append(record)
                if not post.is_comment:  # later comments in this batch inherit its brands
                    inherited.setdefault(record.id, list(record.brands))
        return records, unmatched

    def _record(
        self,
        conf: SourceSettings,
        post: RawPost,
        text: str,
        lang: str | None,
        inherited: dict[str, list[str]],
    ) -> repo.PostRecord | None:
        canonical = canonical_url(post.url)
        pid = post_id(canonical)
        thread_id = post_id(canonical_url(post.thread_url)) if post.thread_url else pid
        brands, reason = self._brands(conf, post, text, inherited.get(thread_id, []))
        if not brands and not self.settings.crawl.keep_unmatched:
            return None
        parent = post_id(canonical_url(post.parent_url)) if post.parent_url else None
        return repo.PostRecord(
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
        )

    def _brands(
        self, conf: SourceSettings, post: RawPost, text: str, thread: list[str]
    ) -> tuple[list[str], str | None]:
        """Named reasons: ``mention`` (the post names the brand), ``source`` (a brand-owned
        source such as its own forum), ``thread`` (a comment under a post about the brand)."""
        brands = self.matchers.brands.match(text)
        if brands:
            return brands, "mention"
        if conf.brand:
            return [conf.brand], "source"
        if post.is_comment and thread:
            return list(thread), "thread"
        return [], None

    def _host_failure(self, url: str, exc: FetchError, now: datetime) -> None:
        if exc.kind != "rate_limited":
            return
        with session_scope(self.engine) as session:
            state = repo.host_state(session, _host(url))
            failures = (state.consecutive_failures if state else 0) + 1
            delay = next_delay(
                failures,
                base=self.settings.crawl.backoff_base,
                cap=self.settings.crawl.backoff_cap,
                retry_after=exc.retry_after,
                rand=self.rand,
            )
            repo.record_host_result(
                session,
                _host(url),
                backoff_until=now + timedelta(seconds=delay),
                status=exc.status,
                reason=str(exc)[:300],
            )

    def _finish(self, source_id: int, report: CrawlReport, now: datetime) -> None:
        with session_scope(self.engine) as session:
            source = session.get(Source, source_id)
            assert source is not None
            _record_health(source, report, now, self.settings, self.rand)
            session.add(source)


def _record_health(
    source: Source,
    report: CrawlReport,
    now: datetime,
    settings: Settings,
    rand: Callable[[], float],
) -> None:
    """Success: due again after its interval (+/- jitter). Failure: a readable last_error,
    one more consecutive failure, and exponential backoff (capped) before the next try."""
    crawl = settings.crawl
    source.warnings = len(report.warnings)
    if report.error is None:
        source.last_success_at = now
        source.consecutive_failures = 0
        source.posts_stored += len(report.new)
        spread = 1 + crawl.jitter * (2 * rand() - 1)
        source.next_due_at = now + timedelta(seconds=source.interval_s * spread)
        return
    source.last_error = report.error[:1000]
    source.last_error_kind = report.error_kind
    source.last_error_at = now
    source.consecutive_failures += 1
    delay = next_delay(
        source.consecutive_failures,
        base=max(crawl.backoff_base, source.interval_s),
        cap=crawl.backoff_cap,
        rand=rand,
    )
    source.next_due_at = now + timedelta(seconds=delay)


def _store_validators(session: Session, source_id: int, fetched: Fetched, now: datetime) -> None:
    repo.save_fetch_state(
        session,
        source_id,
        fetched.url,
        status=fetched.status,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        now=now,
    )


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
    else:
        log.info("crawl done", extra=fields)
