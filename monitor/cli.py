"""The ``stormwatch`` command line (Typer). Every command accepts ``--config PATH``.

Errors reach the user as one sentence on stderr and exit status 1 (configuration problems
as one line each, key path first); ``--json`` gives machine-readable output.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from monitor.errors import ConfigError, StormwatchError
from monitor.settings import DEFAULT_CONFIG, Settings, load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
posts_app = typer.Typer(no_args_is_help=True, help="Stored posts.")
sources_app = typer.Typer(no_args_is_help=True, help="Configured sources and their health.")
app.add_typer(db_app, name="db")
app.add_typer(posts_app, name="posts")
classifier_app = typer.Typer(no_args_is_help=True, help="Evaluate and train the classifier.")
app.add_typer(sources_app, name="sources")
app.add_typer(classifier_app, name="classifier")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Settings file (default ./stormwatch.toml or $STORMWATCH_CONFIG)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
T = TypeVar("T")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


def config_path(given: Path | None) -> Path:
    return given or Path(os.environ.get("STORMWATCH_CONFIG") or DEFAULT_CONFIG)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn Stormwatch errors into one readable line each and exit 1 — no tracebacks."""
    try:
        yield
    except ConfigError as exc:
        err.print(f"error: {exc}:", markup=False)
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False)
        raise typer.Exit(1) from None
    except StormwatchError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None


def settings_from(config: Path | None) -> Settings:
    return load_settings(config_path(config))


# --- init / check-config ---------------------------------------------------------------


def example_config() -> str:
    return (resources.files("monitor") / "data" / "stormwatch.example.toml").read_text("utf-8")


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to write stormwatch.toml.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter config."""
    target = directory / DEFAULT_CONFIG
    if target.exists() and not force:
        err.print(f"error: {target} exists (use --force to overwrite)", markup=False)
        raise typer.Exit(1)
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(example_config(), encoding="utf-8")
    out.print(f"wrote {target}; check it with: stormwatch check-config -c {target}", markup=False)


@app.command("check-config")
def check_config(config: ConfigOpt = None) -> None:
    """List every problem with its key path; exit 1 if any."""
    with user_errors():
        settings = settings_from(config)
    out.print(
        f"{config_path(config)}: OK — {len(settings.brands)} brand(s), "
        f"{len(settings.sources)} source(s), database {settings.database.url}",
        markup=False,
    )


# --- database ---------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None) -> None:
    """Apply migrations."""
    from monitor.storage.db import current_revision, make_engine, upgrade

    with user_errors():
        engine = make_engine(settings_from(config).database)
        upgrade(engine)
        out.print(f"database at revision {current_revision(engine)}", markup=False)


@db_app.command("backup")
def db_backup(
    target: Annotated[Path, typer.Argument(help="File to write (must not exist).")],
    config: ConfigOpt = None,
) -> None:
    """Copy a SQLite database while the daemon runs (SQLite's online backup: a consistent
    snapshot, writers are not stopped). For PostgreSQL use pg_dump (docs/OPERATIONS.md)."""
    from monitor.storage.db import backup_sqlite

    with user_errors():
        pages = backup_sqlite(settings_from(config).database, target)
    out.print(f"backed up to {target} ({pages} pages)", markup=False)


# --- crawl / run ----------------------------------------------------------------------


@app.command()
def crawl(
    config: ConfigOpt = None,
    once: Annotated[
        bool, typer.Option("--once", help="One pass over the sources, then exit.")
    ] = False,
    source: Annotated[list[str] | None, typer.Option("--source", help="Only this source.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """One crawl pass over every source (or --source NAME), then exit."""
    if not once:
        err.print("error: use `stormwatch crawl --once` (the daemon is `stormwatch run`)")
        raise typer.Exit(2)
    from monitor import logs

    with user_errors():
        settings = settings_from(config)
        logs.configure(settings.log, stream=sys.stderr)
        names = source or [s.name for s in settings.sources if s.enabled]
        for name in names:
            settings.source(name)
        reports = asyncio.run(_crawl_once(settings, names))
    print_reports(reports, as_json)
    if any(r.error for r in reports):
        raise typer.Exit(1)


async def _crawl_once(settings: Settings, names: list[str]) -> list[Any]:
    from monitor.app import build_app
    from monitor.storage.db import upgrade

    application = build_app(settings)
    try:
        await asyncio.to_thread(upgrade, application.engine)
        return await application.crawler.crawl(names, datetime.now(UTC))
    finally:
        await application.aclose()


def print_reports(reports: list[Any], as_json: bool) -> None:
    if as_json:
        for r in reports:
            row = {**vars(r), "new": len(r.new), "updated": len(r.updated)}
            out.print(json.dumps(row, ensure_ascii=False), markup=False)
        return
    table = Table("source", "requests", "304", "new", "updated", "unchanged", "no brand", "result")
    for r in reports:
        result = r.skipped or (f"[red]{r.error_kind}: {r.error}[/red]" if r.error else "ok")
        if r.warnings and not r.error:
            result = f"ok, {len(r.warnings)} warning(s)"
        table.add_row(
            r.source, str(r.requests), str(r.not_modified), str(len(r.new)),
            str(len(r.updated)), str(r.unchanged), str(r.unmatched), result,
        )  # fmt: skip
    out.print(table)


@app.command()
def run(
    config: ConfigOpt = None,
    tick: Annotated[float, typer.Option(help="Seconds between scheduling ticks.")] = 5.0,
    classify: Annotated[
        bool, typer.Option(help="Classify new posts (off: crawl only, posts stay pending).")
    ] = True,
    web: Annotated[bool, typer.Option(help="Serve the web UI on [web] bind.")] = True,
) -> None:
    """The daemon: crawl, classify, detect and page on every tick, and serve the web UI,
    until SIGTERM / Ctrl-C. SIGHUP reloads the settings file."""
    from monitor import daemon, logs

    with user_errors():
        path = config_path(config)
        settings = settings_from(config)
        logs.configure(settings.log)
        asyncio.run(daemon.run(settings, path, tick=tick, classify=classify, web=web))


@app.command("web")
def web_command(config: ConfigOpt = None) -> None:
    """Serve the web UI and JSON API only (the pipeline runs in `stormwatch run`)."""
    import signal

    from monitor import daemon, logs

    async def main(settings: Settings) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await daemon.run_web(settings, stop)

    with user_errors():
        settings = settings_from(config)
        logs.configure(settings.log)
        asyncio.run(main(settings))


# --- posts ------------------------------------------------------------------------------


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """``2h``, ``3d``, ``45m`` ago, or an ISO 8601 time."""
    if not value:
        return None
    match = re.fullmatch(r"(\d+)([mhdw])", value.strip())
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match[2]]
        return now - timedelta(**{unit: int(match[1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise StormwatchError(f"--since {value!r}: use e.g. 2h, 3d or 2026-11-01T00:00") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _with_session(config: Path | None, fn: Callable[..., T]) -> T:
    from monitor.storage.db import make_engine, session_scope, upgrade

    settings = settings_from(config)
    engine = make_engine(settings.database)
    upgrade(engine)
    with session_scope(engine) as session:
        return fn(session)


@posts_app.command("list")
def posts_list(
    config: ConfigOpt = None,
    brand: Annotated[str | None, typer.Option(help="Only posts about this brand.")] = None,
    since: Annotated[str | None, typer.Option(help="2h, 3d, or an ISO time.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """What has been stored, newest first."""
    from monitor.storage import repo

    def query(session: Any) -> list[dict[str, Any]]:
        when = parse_since(since, datetime.now(UTC))
        posts = repo.list_posts(session, brand=brand, since=when, source=source, limit=limit)
        brands = repo.brands_of(session, [p.id for p in posts])
        return [post_dict(p, brands.get(p.id, [])) for p in posts]

    with user_errors():
        rows = _with_session(config, query)
    if as_json:
        for row in rows:
            out.print(json.dumps(row, ensure_ascii=False), markup=False)
        return
    table = Table("id", "published", "kind", "lang", "brands", "author", "title / text")
    for r in rows:
        snippet = (r["title"] or r["text"]).replace("\n", " ")[:70]
        table.add_row(
            r["id"][:10], (r["published_at"] or "")[:16], r["kind"], r["lang"] or "-",
            ",".join(r["brands"]), (r["author"] or "")[:20], snippet,
        )  # fmt: skip
    out.print(table)


@posts_app.command("show")
def posts_show(
    post_id: Annotated[str, typer.Argument(help="Post id (a unique prefix is enough).")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One post with its edit history."""
    from monitor.storage import repo

    def query(session: Any) -> dict[str, Any] | None:
        post = repo.get_post(session, post_id) or repo.post_by_prefix(session, post_id)
        if post is None:
            return None
        row = post_dict(post, repo.brands_of(session, [post.id]).get(post.id, []))
        row["edit_history"] = [
            {
                "changed_at": e.changed_at.isoformat(),
                "old_title": e.old_title,
                "old_text": e.old_text,
            }
            for e in repo.post_edits(session, post.id)
        ]
        return row

    with user_errors():
        row = _with_session(config, query)
        if row is None:
            raise StormwatchError(f"no post with id {post_id!r}")
    if as_json:
        out.print(json.dumps(row, ensure_ascii=False, indent=2), markup=False)
        return
    for key in ("id", "canonical_url", "kind", "thread_id", "parent_id", "author", "lang"):
        out.print(f"{key:14} {row[key]}", markup=False)
    out.print(f"{'brands':14} {', '.join(row['brands'])} ({row['brand_reason']})", markup=False)
    out.print(f"{'published':14} {row['published_at']}   edits: {row['edits']}", markup=False)
    if row["rating"] is not None:
        out.print(f"{'stars':14} {row['rating']} of 5", markup=False)
    out.print(f"\n{row['title'] or ''}\n\n{row['text']}", markup=False)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def post_dict(post: Any, brands: list[str]) -> dict[str, Any]:
    return {
        "id": post.id,
        "canonical_url": post.canonical_url,
        "url": post.canonical_url,
        "source_id": post.source_id,
        "kind": post.kind,
        "thread_id": post.thread_id,
        "parent_id": post.parent_id,
        "author": post.author,
        "title": post.title,
        "text": post.text,
        "published_at": _iso(post.published_at),
        "fetched_at": _iso(post.fetched_at),
        "updated_at": _iso(post.updated_at),
        "lang": post.lang,
        "brands": sorted(brands),
        "brand_reason": post.brand_reason,
        "content_hash": post.content_hash,
        "edits": post.edits,
        "rating": post.rating,
    }


# --- sources ----------------------------------------------------------------------------


@sources_app.command("test")
def sources_test(
    name: Annotated[str, typer.Argument(help="The [[sources]] name to try.")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch one source once, as a first pass would, and print what it would store (or
    why not). Nothing is stored; exit 1 if the source failed."""
    with user_errors():
        settings = settings_from(config)
        settings.source(name)
        result = asyncio.run(_trial(settings, name))
    report = result.report
    rows = [_trial_row(c.record) for c in result.candidates]
    if as_json:
        for row in rows:
            out.print(json.dumps(row, ensure_ascii=False), markup=False)
    else:
        table = Table("would store", "brands", "lang", "stars", "url", "text")
        for row in rows:
            table.add_row(
                row["kind"], ",".join(row["brands"]) or "(thread)", row["lang"] or "",
                str(row["rating"] or ""), row["url"], row["text"][:60],
            )  # fmt: skip
        out.print(table)
    for warning in report.warnings:
        err.print(f"warning: {warning}", markup=False)
    skipped = f"; {report.unmatched} skipped (no brand named)" if report.unmatched else ""
    err.print(
        f"{report.requests} request(s), {len(rows)} post(s) would be stored{skipped}", markup=False
    )
    if report.error:
        err.print(f"error: {report.error}", markup=False)
        raise typer.Exit(1)


async def _trial(settings: Settings, name: str) -> Any:
    from monitor.app import fetch_policy
    from monitor.crawl import Crawler
    from monitor.fetch import Fetcher
    from monitor.read import ThreadReader, make_matchers, read_config

    config = read_config(settings)
    async with Fetcher(fetch_policy(settings.network)) as fetcher:
        reader = ThreadReader(config, make_matchers(config))
        crawler = Crawler(settings, engine=None, fetcher=fetcher, reader=reader)  # type: ignore[arg-type]
        return await crawler.trial(name, datetime.now(UTC))


def _trial_row(record: Any) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "url": record.canonical_url,
        "brands": list(record.brands),
        "lang": record.lang,
        "rating": record.rating,
        "author": record.author,
        "published_at": record.published_at.isoformat() if record.published_at else None,
        "title": record.title,
        "text": record.text,
    }


@sources_app.command("list")
def sources_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Every source with its health: last success, last error, failures, next due."""
    from monitor.queue import health
    from monitor.storage import repo

    def query(session: Any) -> list[dict[str, Any]]:
        settings = settings_from(config)
        now = datetime.now(UTC)
        repo.sync_sources(session, settings, now)
        return health.sources(session, settings, now)

    with user_errors():
        rows = _with_session(config, query)
    if as_json:
        for row in rows:
            out.print(json.dumps(row, ensure_ascii=False), markup=False)
        return
    table = Table("source", "kind", "health", "last success", "failures", "next due", "last error")
    for r in rows:
        error = f"{r['last_error_kind']}: {r['last_error']}" if r["last_error"] else ""
        if r["health"] == "degraded":
            error = f"warning: {r['last_warning']}"
        if not error and r["quota_used_today"] is not None:
            error = f"quota: {r['quota_used_today']} units used today (Pacific time)"
        table.add_row(
            r["name"], r["kind"], r["health"], (r["last_success_at"] or "never")[:19],
            str(r["consecutive_failures"]), (r["next_due_at"] or "")[:19], error[:90],
        )  # fmt: skip
    out.print(table)


# --- demo -------------------------------------------------------------------------------


@app.command()
def demo(
    no_serve: Annotated[
        bool,
        typer.Option(
            "--no-serve",
            help="Exit after the simulated day, with a summary (exit 1 if nothing paged).",
        ),
    ] = False,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the demo's database, mailbox and settings "
            "(default ./stormwatch-demo; replaced on each run)."
        ),
    ] = None,
) -> None:
    """Offline demo: a simulated day on a local web turns into a complaint storm; the real
    pipeline detects it, pages the terminal and a local mailbox, then serves the queue UI."""
    from monitor.demo import run_demo

    with user_errors():
        run_demo(out, workdir=workdir, serve=not no_serve)


# --- classification ---------------------------------------------------------------------


@app.command()
def classify(
    text: Annotated[str | None, typer.Argument(help="A text to classify.")] = None,
    jsonl: Annotated[
        Path | None, typer.Option("--jsonl", help="Post records, one per line.")
    ] = None,
    brand: Annotated[str | None, typer.Option(help="Read the text for this brand.")] = None,
    pending: Annotated[
        bool, typer.Option("--pending", help="Classify every stored post not yet read.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """JSON lines: id, lang, sentiment, complaint, label (and the passage that decided)."""
    from monitor.classify import ClassifyStage

    with user_errors():
        settings = _settings_or_defaults(config)
        engine = _migrated_engine(settings) if pending else None
        stage = ClassifyStage(settings.classifier, engine, _matcher(settings, brand))
        if pending:
            _classify_pending(stage)
            return
        records = _records(text, jsonl)
        for line in classify_records(stage, records, brand):
            out.print(json.dumps(line, ensure_ascii=False), markup=False)


def _settings_or_defaults(config: Path | None) -> Settings:
    """Ad-hoc classification works without a config file (embedded defaults)."""
    path = config_path(config)
    if config is None and not path.exists():
        return load_settings(None)
    return load_settings(path)


def _matcher(settings: Settings, *extra: str | None) -> Any:
    """The configured brands, plus any brand named on the command line or in the records."""
    from monitor.match.brands import BrandMatcher, BrandSpec

    specs = [BrandSpec(b.name, (b.name, *b.aliases), tuple(b.excludes)) for b in settings.brands]
    known = {b.name for b in settings.brands}
    for name in dict.fromkeys(e for e in extra if e and e.strip()):
        if name not in known:
            specs.append(BrandSpec(name, (name,)))
    return BrandMatcher(specs)


def _records(text: str | None, jsonl: Path | None) -> list[dict[str, Any]]:
    if text is not None:
        return [{"id": "1", "text": text}]
    if jsonl is None:
        raise StormwatchError("give a TEXT, or --jsonl FILE, or --pending")
    records = []
    try:
        lines = jsonl.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StormwatchError(f"{jsonl}: cannot read: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise StormwatchError(f"{jsonl}:{number}: not JSON: {exc}") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise StormwatchError(f"{jsonl}:{number}: a record needs a string 'text'")
        records.append(record)
    return records


def classify_records(
    stage: Any, records: list[dict[str, Any]], brand: str | None
) -> list[dict[str, Any]]:
    """Target-aware when the record (or --brand) names a brand; whole text otherwise."""
    from classifiers.errors import ClassifierError
    from classifiers.passages import read_posts

    try:
        classifier = stage.classifier()
    except ClassifierError as exc:
        raise StormwatchError(f"classifier unavailable: {exc}") from None
    detector = _language_detector()
    rows = []
    for chunk_start in range(0, len(records), 64):
        chunk = records[chunk_start : chunk_start + 64]
        posts = [
            (r.get("title"), r["text"], _spans(stage, r["text"], r.get("brand") or brand))
            for r in chunk
        ]
        for record, reading in zip(chunk, read_posts(classifier, posts), strict=True):
            text = f"{record.get('title') or ''}\n{record['text']}"
            rows.append(
                {
                    "id": record.get("id"),
                    "lang": record.get("lang") or detector.detect(text),
                    **reading.scores.as_dict(),
                    "passage": reading.passage.text,
                }
            )
    return rows


def _spans(stage: Any, text: str, brand: str | None) -> list[tuple[int, int]]:
    return stage.mention_spans(text, brand) if brand else []


def _language_detector() -> Any:
    from monitor.match.language import LanguageDetector
    from monitor.settings import CrawlSettings

    return LanguageDetector(CrawlSettings().languages)


def _migrated_engine(settings: Settings) -> Any:
    from monitor.storage.db import make_engine, upgrade

    engine = make_engine(settings.database)
    upgrade(engine)
    return engine


def _classify_pending(stage: Any) -> None:
    report = stage.drain(datetime.now(UTC))
    if report.unavailable:
        raise StormwatchError(f"classifier unavailable: {report.unavailable}")
    out.print(
        f"classified {report.classified} (post, brand) pair(s); {report.complaints} complaint(s)"
    )


@classifier_app.command("eval")
def classifier_eval(
    file: Annotated[list[Path], typer.Argument(help="Labelled JSONL files (or folders).")],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Per-language precision, recall and F1 for complaint-vs-not, and confusion matrices."""
    from classifiers.dataset import load_examples
    from classifiers.errors import ClassifierError
    from classifiers.evaluate import evaluate_classifier
    from classifiers.registry import load_classifier

    with user_errors():
        settings = _settings_or_defaults(config).classifier
        try:
            examples = load_examples(file)
            report = evaluate_classifier(
                load_classifier(settings), examples, window=settings.window_sentences
            )
        except ClassifierError as exc:
            raise StormwatchError(str(exc)) from None
    out.print(report.to_json() if as_json else report.render(), markup=False)


@classifier_app.command("train")
def classifier_train(
    examples: Annotated[
        list[Path] | None, typer.Option("--examples", help="Train files (default: packaged).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write the head (.npz).")
    ] = None,
    relabels: Annotated[
        bool, typer.Option(help="Include the queue's relabels from the database.")
    ] = True,
    finetune: Annotated[
        bool,
        typer.Option(
            "--finetune/--frozen",
            help="Fine-tune the encoder first (LoRA, ~10 min on 2 cores), or fit the head "
            "on the frozen encoder (about a minute).",
        ),
    ] = True,
    epochs: Annotated[
        int, typer.Option(min=1, max=50, help="Fine-tuning epochs over the examples.")
    ] = 5,
    seed: Annotated[int, typer.Option(help="Fine-tuning seed (adapter init, shuffling).")] = 0,
    check: Annotated[
        bool,
        typer.Option(
            help="Evaluate the new head on the packaged held-out set; below a language's "
            "target it is written beside the current head instead of replacing it."
        ),
    ] = True,
    force: Annotated[
        bool, typer.Option(help="Install the new head even if it is below target.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Rebuild the head from the labelled examples plus the queue's relabels."""
    from classifiers.cache import CachedEncoder
    from classifiers.dataset import load_examples, packaged_paths
    from classifiers.e5.backend import encoder_from_settings
    from classifiers.e5.locate import resolve_model
    from classifiers.errors import ClassifierError
    from classifiers.train import apply_relabels, train_head

    with user_errors():
        settings = _settings_or_defaults(config)
        target = output or settings.classifier.head_path()
        try:
            data = load_examples(examples or packaged_paths("train"))
            extra = _relabel_examples(settings) if relabels and config_path(config).exists() else []
            source = resolve_model(settings.classifier)  # once: it checks the model's hashes
            adapter = (
                _fine_tune(settings, source, apply_relabels(data, extra)[0], epochs, seed)
                if finetune
                else None
            )
            encoder = encoder_from_settings(settings.classifier, adapter=adapter, source=source)
            head = train_head(
                CachedEncoder(encoder),
                data,
                relabels=extra,
                created_at=datetime.now(UTC),
                window=settings.classifier.window_sentences,
                adapter=adapter,
            )
            report = _held_out_check(settings, encoder, head) if check else None
            missed = report.below_target() if report is not None else {}
            # A head under the bar does not replace the one in use (a nightly retrain must
            # not quietly make the queue worse); it is kept beside it for inspection.
            written = _candidate_path(target) if missed and not force else target
            head.save(written)
        except ClassifierError as exc:
            raise StormwatchError(str(exc)) from None
    how = "encoder fine-tuned" if finetune else "frozen encoder"
    out.print(
        f"trained on {len(data)} example(s) + {len(extra)} relabel(s) ({how}); "
        f"head written to {written}",
        markup=False,
    )
    if report is not None:
        out.print(f"held-out complaint F1: {report.summary()}", markup=False)
    if missed:
        _refuse_below_target(missed, target, written, force)


def _fine_tune(settings: Settings, source: Any, examples: list[Any], epochs: int, seed: int) -> Any:
    from classifiers.finetune import FinetuneSettings, finetune

    return finetune(
        source,
        examples,
        settings=FinetuneSettings(epochs=epochs, seed=seed, threads=settings.classifier.threads),
        window=settings.classifier.window_sentences,
        on_epoch=lambda n, loss: err.print(f"epoch {n}/{epochs}: loss {loss:.4f}"),
    )


def _refuse_below_target(
    missed: dict[str, float], target: Path, written: Path, force: bool
) -> None:
    """Under ``--force`` a warning; else an error naming both files, and exit status 1."""
    below = ", ".join(f"{lang} {f1:.3f}" for lang, f1 in missed.items())
    if force:
        err.print(f"warning: below target on the held-out set: {below}", markup=False)
        return
    err.print(
        f"error: below target on the held-out set: {below}; {target} was left as it was "
        f"and the new head is at {written} (--force installs it anyway; or retrain with "
        "another --seed)",
        markup=False,
    )
    raise typer.Exit(1)


def _candidate_path(target: Path) -> Path:
    return target.with_name(f"{target.stem}.candidate{target.suffix}")


def _held_out_check(settings: Settings, encoder: Any, head: Any) -> Any:
    """The new head on the packaged evaluation set (never used in training), read as the
    daemon reads posts: a retrain (new relabels, another seed) can land below the bar."""
    from classifiers.dataset import load_examples, packaged_paths
    from classifiers.e5.backend import E5Classifier
    from classifiers.evaluate import evaluate_classifier

    classifier = E5Classifier(settings.classifier, encoder=encoder, head=head)
    examples = load_examples(packaged_paths("eval"))
    return evaluate_classifier(classifier, examples, window=settings.classifier.window_sentences)


def _relabel_examples(settings: Settings) -> list[Any]:
    """The queue's corrections as training examples (the post's text, the new label)."""
    from classifiers.dataset import Example
    from monitor.storage import repo
    from monitor.storage.db import session_scope

    engine = _migrated_engine(settings)
    with session_scope(engine) as session:
        rows = []
        for relabel in repo.latest_relabels(session):
            post = repo.get_post(session, relabel.post_id)
            if post is None:
                continue
            # a relabel says nothing about sentiment: a complaint is negative, else neutral
            sentiment: Literal["negative", "neutral"] = (
                "negative" if relabel.label == "complaint" else "neutral"
            )
            rows.append(
                Example(
                    id=f"relabel:{post.id}:{relabel.brand}",
                    lang=post.lang or "und",
                    text=post.text,
                    title=post.title,
                    brand=relabel.brand,
                    label=relabel.label,  # type: ignore[arg-type]
                    sentiment=sentiment,
                )
            )
    return rows


# --- detection --------------------------------------------------------------------------


@app.command()
def backtest(
    posts: Annotated[Path, typer.Option("--posts", help="JSONL post records with published_at.")],
    warmup_days: Annotated[
        float, typer.Option(help="Days at the start of the file that only teach the baseline.")
    ] = 2.0,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Replay posts on a simulated clock; print the incidents it would open, with onset and
    detection times. Records without a ``complaint`` probability are classified first."""
    from monitor.detect.replay import events_from_jsonl, incident_summary, replay

    with user_errors():
        settings = _settings_or_defaults(config)
        try:
            lines = posts.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise StormwatchError(f"{posts}: cannot read: {exc.strerror}") from None
        loaded = events_from_jsonl(lines, _scorer(settings))
        first = min((e.at for e in loaded.events), default=None)
        warm = first + timedelta(days=warmup_days) if first else None
        result = replay(loaded.events, evaluate_from=warm)
    for warning in loaded.warnings:
        err.print(f"warning: {warning}", markup=False)
    rows = [incident_summary(i) for i in result.incidents]
    if as_json:
        for row in rows:
            out.print(json.dumps(row, ensure_ascii=False), markup=False)
        return
    table = Table(
        "brand", "kind", "severity", "onset", "detected", "delay min", "observed/expected", "posts"
    )
    for r in rows:
        table.add_row(
            r["brand"], r["kind"], r["severity"], r["onset_at"][:16], r["detected_at"][:16],
            str(r["delay_minutes"]), f"{r['observed']:.1f}/{r['expected']:.1f}", str(r["posts"]),
        )  # fmt: skip
    out.print(table)
    out.print(
        f"{len(loaded.events)} posts replayed in {result.seconds:.2f}s "
        f"({result.ticks} ticks); {len(rows)} incident(s), {len(result.pages)} page(s)",
        markup=False,
    )


def _scorer(settings: Settings) -> Callable[[Any], list[tuple[float, float]]]:
    """Classify, in one batch, the records that carry no complaint probability (read for the
    record's brand: the passages around its mentions)."""
    from monitor.classify import ClassifyStage

    def score(records: Any) -> list[tuple[float, float]]:
        brands = [str(r.get("brand") or "") for r in records]
        stage = ClassifyStage(settings.classifier, None, _matcher(settings, *brands))
        rows = classify_records(stage, [_with_text(r) for r in records], None)
        return [(float(r["complaint"]), float(r["negative"])) for r in rows]

    return score


def _with_text(record: Any) -> dict[str, Any]:
    return {**record, "text": str(record.get("text") or "")}


# --- alerting ---------------------------------------------------------------------------

alerts_app = typer.Typer(no_args_is_help=True, help="Try the alert channels.")
oncall_app = typer.Typer(no_args_is_help=True, help="Who is on call.")
app.add_typer(alerts_app, name="alerts")
app.add_typer(oncall_app, name="oncall")


@alerts_app.command("test")
def alerts_test(
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Send a test page through every channel (or one) and print each delivery result."""
    from alerts.channels import build_channels
    from alerts.page import Page, dedup_key_for

    with user_errors():
        settings = settings_from(config)
        channels = build_channels(settings.alerts().channel_pairs())
        if channel is not None and channel not in channels:
            raise StormwatchError(f"no channel named {channel!r} (see [[channels]])")
    now = datetime.now(UTC)
    page = Page(
        incident_id="test",
        dedup_key=dedup_key_for(f"test-{now:%Y%m%dT%H%M%S}"),
        step="test",
        brand="(test)",
        kind="test",
        severity="info",
        title="Stormwatch test page",
        explanation="This is a test page from `stormwatch alerts test`. Nothing is wrong.",
        created_at=now,
    )
    failed = 0
    for name, target in channels.items():
        if channel is not None and name != channel:
            continue
        delivery = target.send(page, now)
        failed += not delivery.ok
        status = "ok" if delivery.ok else ("retryable" if delivery.retryable else "failed")
        err.print(f"{name} ({target.masked_url}): {status} — {delivery.reason}", markup=False)
    if failed:
        raise typer.Exit(1)


@oncall_app.command("now")
def oncall_now(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Who would be paged now, for each policy and level, and who is next."""
    from monitor.queue import health

    with user_errors():
        rows = health.oncall(settings_from(config), datetime.now(UTC))
    if as_json:
        for row in rows:
            out.print(json.dumps(row, ensure_ascii=False), markup=False)
        return
    table = Table("policy", "brands", "level", "paged", "after", "until", "next")
    for r in rows:
        paged = ", ".join(r["people"] + r["channels"])
        table.add_row(
            r["policy"], ", ".join(r["brands"]), str(r["level"]), paged,
            f"{r['after_minutes']} min", (r["until"] or "")[:16], ", ".join(r["next"]),
        )  # fmt: skip
    out.print(table)


def _mount_subcommands() -> None:
    """Command groups that live in their own modules (they import helpers from here)."""
    from monitor.cli_queue import incidents_app, queue_app
    from monitor.cli_users import user_app

    app.add_typer(queue_app, name="queue")
    app.add_typer(user_app, name="user")
    app.add_typer(incidents_app, name="incidents")


_mount_subcommands()
