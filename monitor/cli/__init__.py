"""The ``stormwatch`` command line (Typer). Every command accepts ``--config PATH``.

Errors reach the user as one sentence on stderr and exit status 1 (configuration problems
as one line each, key path first); ``--json`` gives machine-readable output.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
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

from monitor.cli.output import err, out, print_json, print_table, utc
from monitor.errors import ConfigError, StormwatchError
from monitor.settings import DEFAULT_CONFIG, Settings, load_settings

HELP = """Stormwatch watches blogs, forums and feeds for complaint storms about your brands,
pages the manager on call, and keeps a queue of flagged posts to answer.

Every command takes --config PATH (default ./stormwatch.toml, or $STORMWATCH_CONFIG).
Errors are one line on stderr and exit status 1; --json prints JSON."""

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, add_completion=False, help=HELP)
db_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Database migrations.")
posts_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Stored posts.")
sources_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Configured sources and their health."
)
app.add_typer(db_app, name="db")
app.add_typer(posts_app, name="posts")
classifier_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Evaluate and train the classifier."
)
app.add_typer(sources_app, name="sources")
app.add_typer(classifier_app, name="classifier")


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
        err.print(f"error: {exc}:")
        for problem in exc.problems:
            err.print(f"  {problem}")
        raise typer.Exit(1) from None
    except StormwatchError as exc:
        err.print(f"error: {exc}")
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
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="The file to write (instead of DIRECTORY)."),
    ] = None,
) -> None:
    """Write a commented starter config."""
    target = config or directory / DEFAULT_CONFIG
    directory = target.parent
    if target.exists() and not force:
        err.print(f"error: {target} exists (use --force to overwrite)")
        raise typer.Exit(1)
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(example_config(), encoding="utf-8")
    out.print(f"wrote {target}; check it with: stormwatch check-config -c {target}")


@app.command("check-config", short_help="List every problem in the config; exit 1 if any.")
def check_config(config: ConfigOpt = None) -> None:
    """List every problem with its key path; exit 1 if any."""
    from monitor.settings import warnings_of

    with user_errors():
        settings = settings_from(config)
    out.print(
        f"{config_path(config)}: OK — {len(settings.brands)} brand(s), "
        f"{len(settings.sources)} source(s), database {settings.database.url}"
    )
    for warning in warnings_of(settings):
        err.print(f"warning: {warning}")


# --- database ---------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None) -> None:
    """Apply migrations."""
    from monitor.storage.db import current_revision, make_engine, upgrade

    with user_errors():
        engine = make_engine(settings_from(config).database)
        upgrade(engine)
        out.print(f"database at revision {current_revision(engine)}")


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
    out.print(f"backed up to {target} ({pages} pages)")


# --- crawl / run ----------------------------------------------------------------------


@app.command(short_help="One crawl pass over every source (or --source NAME).")
def crawl(
    config: ConfigOpt = None,
    once: Annotated[
        bool, typer.Option("--once", help="One pass over the sources, then exit.")
    ] = False,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", metavar="NAME", help="Only this source (repeat for more)."),
    ] = None,
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

    with _quiet("stormwatch.paging"):  # a crawl pages nobody: its set-up warnings are noise
        application = build_app(settings)
    try:
        await asyncio.to_thread(upgrade, application.engine)
        return await application.crawler.crawl(names, datetime.now(UTC))
    finally:
        await application.aclose()


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Only errors from logger ``name`` while the block runs."""
    logger = logging.getLogger(name)
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def print_reports(reports: list[Any], as_json: bool) -> None:
    if as_json:
        for r in reports:
            row = {**vars(r), "new": len(r.new), "updated": len(r.updated)}
            print_json(row)
        return
    columns = ("source", "requests", "304", "new", "updated", "unchanged", "no brand", "result")
    print_table(columns, [_report_row(r) for r in reports])


def _report_row(r: Any) -> list[Any]:
    result = r.skipped or (f"{r.error_kind}: {r.error}" if r.error else "ok")
    if r.warnings and not r.error:
        result = f"ok, {len(r.warnings)} warning(s)"
    return [
        r.source, r.requests, r.not_modified, len(r.new), len(r.updated), r.unchanged,
        r.unmatched, result,
    ]  # fmt: skip


@app.command(short_help="The daemon: crawl, classify, detect, page, serve the UI.")
def run(
    config: ConfigOpt = None,
    tick: Annotated[float, typer.Option(help="Seconds between scheduling ticks.")] = 5.0,
    classify: Annotated[
        bool, typer.Option(help="Classify new posts (off: crawl only, posts stay pending).")
    ] = True,
    web: Annotated[bool, typer.Option(help="Serve the web UI on [web] bind.")] = True,
) -> None:
    """The daemon: crawl, classify, detect and page on every tick, and serve the web UI,
    until SIGTERM or Ctrl-C. SIGHUP reloads the settings file."""
    from monitor import daemon, logs

    with user_errors():
        path = config_path(config)
        settings = settings_from(config)
        logs.configure(settings.log)
        asyncio.run(daemon.run(settings, path, tick=tick, classify=classify, web=web))


@app.command("web", short_help="Serve only the web UI and the JSON API.")
def web_command(config: ConfigOpt = None) -> None:
    """Serve the web UI and JSON API only (the pipeline runs in 'stormwatch run')."""
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
            print_json(row)
        return
    columns = ("id", "published", "kind", "lang", "brands", "author", "title / text")
    table = [
        [
            r["id"],
            utc(r["published_at"]),
            r["kind"],
            r["lang"] or "-",
            ",".join(r["brands"]),
            r["author"] or "",
            r["title"] or r["text"],
        ]
        for r in rows
    ]
    print_table(columns, table, clip={"id": 10, "author": 20, "title / text": 70})


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
        print_json(row, indent=2)
        return
    for key in ("id", "canonical_url", "kind", "thread_id", "parent_id", "author", "lang"):
        out.print(f"{key:14} {row[key]}")
    out.print(f"{'brands':14} {', '.join(row['brands'])} ({row['brand_reason']})")
    out.print(f"{'published':14} {utc(row['published_at'])}   edits: {row['edits']}")
    if row["rating"] is not None:
        out.print(f"{'stars':14} {row['rating']} of 5")
    out.print(f"\n{row['title'] or ''}\n\n{row['text']}")


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
            print_json(row)
    else:
        columns = ["would store", "brands", "lang", "stars", "url", "text"]
        cells = [
            [
                row["kind"], ",".join(row["brands"]) or "(thread)", row["lang"] or "",
                str(row["rating"] or ""), row["url"], row["text"],
            ]
            for row in rows
        ]  # fmt: skip
        print_table(columns, cells, clip={"text": 60})
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
            print_json(row)
        return
    columns = ("source", "kind", "health", "last success", "failures", "next due", "last error")
    print_table(columns, [_source_row(r) for r in rows], clip={"last error": 90})


def _source_row(r: dict[str, Any]) -> list[Any]:
    error = f"{r['last_error_kind']}: {r['last_error']}" if r["last_error"] else ""
    if r["health"] == "degraded":
        error = f"warning: {r['last_warning']}"
    if not error and r["quota_used_today"] is not None:
        error = f"quota: {r['quota_used_today']} units used today (Pacific time)"
    return [
        r["name"], r["kind"], r["health"], utc(r["last_success_at"], "never"),
        r["consecutive_failures"], utc(r["next_due_at"]), error,
    ]  # fmt: skip


# --- demo -------------------------------------------------------------------------------


@app.command(short_help="Offline demo: a simulated day with a complaint storm.")
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
    from rich.console import Console

    from monitor.demo import run_demo

    # The demo's own lines use rich markup (and escape the data they carry).
    console = Console(highlight=False, soft_wrap=True, emoji=False)
    with user_errors():
        run_demo(console, workdir=workdir, serve=not no_serve)


# --- classification ---------------------------------------------------------------------


@app.command(short_help="Classify texts; print one JSON line per text.")
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
        if pending and config is None and not config_path(None).exists():
            # the stored posts live in a configured database; embedded defaults would
            # silently create an empty ./stormwatch.db and report nothing to do
            raise StormwatchError(
                f"classify --pending reads the posts of a configured database, and there is "
                f"no {config_path(None)} here; give --config FILE (or run it where the "
                "daemon's stormwatch.toml is)"
            )
        settings = _settings_or_defaults(config)
        engine = _migrated_engine(settings) if pending else None
        stage = ClassifyStage(settings.classifier, engine, _matcher(settings, brand))
        if pending:
            _classify_pending(stage)
            return
        records = _records(text, jsonl)
        for line in classify_records(stage, records, brand):
            print_json(line)


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
    """Target-aware when the record (or --brand) names a brand; whole text otherwise.

    Every row carries ``reason``: null when the text was read as it is, else why the figures
    need care or are missing (:data:`classifiers.inputs.REASONS`)."""
    from classifiers.errors import ClassifierError
    from classifiers.inputs import empty_row, prepare

    try:
        classifier = stage.classifier()
    except ClassifierError as exc:
        raise StormwatchError(f"classifier unavailable: {exc}") from None
    detector = _language_detector()
    rows: list[dict[str, Any]] = []
    for chunk_start in range(0, len(records), 64):
        chunk = [
            prepare(r, brand, detector, lambda text, b: _spans(stage, text, b), stage.other_spans)
            for r in records[chunk_start : chunk_start + 64]
        ]
        readable = [c for c in chunk if c.readable]
        readings = iter(_read(classifier, readable))
        rows.extend(c.row(next(readings)) if c.readable else empty_row(c) for c in chunk)
    return rows


def _read(classifier: Any, items: list[Any]) -> list[Any]:
    from classifiers.passages import read_posts

    posts = [(c.title, c.text, c.spans) for c in items]
    langs, others = [c.lang for c in items], [c.others for c in items]
    return read_posts(classifier, posts, langs=langs, others=others) if items else []


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
    file: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="FILE...",
            help="Labelled JSONL files or folders (the packaged eval, the hard cases).",
        ),
    ] = None,
    real: Annotated[
        list[Path] | None,
        typer.Option(
            "--real",
            help="A folder of real labelled sets (each with train.jsonl and dev.jsonl), or one "
            "set; its dev split is scored, its train split trains the naive Bayes baseline.",
        ),
    ] = None,
    baseline: Annotated[
        bool, typer.Option(help="Train the in-domain naive Bayes baseline of each real set.")
    ] = True,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """One table: per set and language AUC, F1/precision/recall, ECE, p(not), baseline."""
    from classifiers.errors import ClassifierError
    from classifiers.realeval import evaluate_sets
    from classifiers.registry import load_classifier

    with user_errors():
        if not file and not real:
            raise StormwatchError("give labelled FILEs/folders, or --real DIR, or both")
        settings = _settings_or_defaults(config).classifier
        try:
            table = evaluate_sets(
                load_classifier(settings),
                file or [],
                real or [],
                window=settings.window_sentences,
                baseline=baseline,
            )
        except ClassifierError as exc:
            raise StormwatchError(str(exc)) from None
    if as_json:
        sys.stdout.write(table.to_json() + "\n")
    else:
        out.print(table.render())


@classifier_app.command("train")
def classifier_train(
    examples: Annotated[
        list[Path] | None,
        typer.Option("--examples", metavar="FILE", help="Train files (default: packaged)."),
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
    real: Annotated[
        list[Path] | None,
        typer.Option(
            "--real",
            help="Real labelled sets to train on (their train split); only sets whose licence "
            "allows a shipped head, unless --experiment.",
        ),
    ] = None,
    calibration: Annotated[
        list[Path] | None,
        typer.Option(
            "--calibration",
            help="Real sets whose train split calibrates the complaint probability per "
            "language (evaluation-licensed sets may); their dev splits join the check.",
        ),
    ] = None,
    experiment: Annotated[
        bool,
        typer.Option(help="Allow sets licensed for evaluation only; the head is marked so."),
    ] = False,
    per_set: Annotated[
        int, typer.Option("--per-set", min=50, help="At most this many posts of each real set.")
    ] = 1500,
    config: ConfigOpt = None,
) -> None:
    """Rebuild the head from the labelled examples plus the queue's relabels (and real sets)."""
    from classifiers.cache import CachedEncoder
    from classifiers.dataset import load_examples, packaged_paths
    from classifiers.e5.backend import encoder_from_settings
    from classifiers.e5.locate import resolve_model
    from classifiers.errors import ClassifierError
    from classifiers.realtrain import train_real
    from classifiers.train import apply_relabels

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
            head, _ = train_real(
                settings.classifier,
                CachedEncoder(encoder),
                data,
                relabels=extra,
                real_dirs=real or [],
                calibration_dirs=calibration or [],
                experiment=experiment,
                per_set=per_set,
                created_at=datetime.now(UTC),
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
        f"head written to {written}"
    )
    if report is not None:
        out.print(f"held-out complaint F1: {report.summary()}")
    if check and (real or calibration):
        out.print(_real_check(settings, encoder, head, [*(real or []), *(calibration or [])]))
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
        err.print(f"warning: below target on the held-out set: {below}")
        return
    err.print(
        f"error: below target on the held-out set: {below}; {target} was left as it was "
        f"and the new head is at {written} (--force installs it anyway; or retrain with "
        "another --seed)"
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


def _real_check(settings: Settings, encoder: Any, head: Any, dirs: list[Path]) -> str:
    """The new head on the real sets' dev splits and the hard cases (never trained on), with
    the encoder already loaded for training (not a second copy of the model)."""
    from classifiers.dataset import hard_path, packaged_paths
    from classifiers.e5.backend import E5Classifier
    from classifiers.realeval import evaluate_sets

    classifier = E5Classifier(settings.classifier, encoder=encoder, head=head)
    files = [packaged_paths("eval")[0].parent, hard_path()]
    table = evaluate_sets(classifier, files, dirs, window=settings.classifier.window_sentences)
    return table.render()


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


@app.command(short_help="Replay posts; print the incidents they would open.")
def backtest(
    posts: Annotated[Path, typer.Option("--posts", help="JSONL post records with published_at.")],
    warmup_days: Annotated[
        float, typer.Option(help="Days at the start of the file that only teach the baseline.")
    ] = 2.0,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Replay posts on a simulated clock; print the incidents it would open, with onset and
    detection times. Records without a complaint probability are classified first."""
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
        err.print(f"warning: {warning}")
    rows = [incident_summary(i) for i in result.incidents]
    if as_json:
        for row in rows:
            print_json(row)
        return
    columns = (
        "brand", "kind", "severity", "onset", "detected", "delay min", "observed/expected", "posts"
    )  # fmt: skip
    table = [
        [
            r["brand"],
            r["kind"],
            r["severity"],
            utc(r["onset_at"]),
            utc(r["detected_at"]),
            r["delay_minutes"],
            f"{r['observed']:.1f}/{r['expected']:.1f}",
            r["posts"],
        ]
        for r in rows
    ]
    print_table(columns, table)
    out.print(
        f"{len(loaded.events)} posts replayed in {result.seconds:.2f}s "
        f"({result.ticks} ticks); {len(rows)} incident(s), {len(result.pages)} page(s)"
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

alerts_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Try the alert channels."
)
oncall_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Who is on call.")
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
        err.print(f"{name} ({target.masked_url}): {status} — {delivery.reason}")
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
            print_json(row)
        return
    columns = ("policy", "brands", "level", "paged", "after", "until", "next")
    table = [
        [
            r["policy"],
            ", ".join(r["brands"]),
            r["level"],
            ", ".join(r["people"] + r["channels"]),
            f"{r['after_minutes']} min",
            utc(r["until"]),
            ", ".join(r["next"]),
        ]
        for r in rows
    ]
    print_table(columns, table)


def _mount_subcommands() -> None:
    """Command groups that live in their own modules (they import helpers from here)."""
    from monitor.cli.queue import incidents_app, queue_app
    from monitor.cli.users import user_app

    app.add_typer(queue_app, name="queue")
    app.add_typer(user_app, name="user")
    app.add_typer(incidents_app, name="incidents")


_mount_subcommands()


def _first_sentence(doc: str) -> str:
    """The first sentence of a docstring's first paragraph, on one line."""
    paragraph = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    cut = paragraph.find(". ")
    return paragraph if cut < 0 else paragraph[: cut + 1]


def _short_helps(group: typer.Typer) -> None:
    """Command lists show each command's whole first sentence (left alone, they are cut
    mid-sentence at the terminal's width)."""
    for command in group.registered_commands:
        if command.short_help is None and command.callback and command.callback.__doc__:
            command.short_help = _first_sentence(command.callback.__doc__)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _short_helps(sub.typer_instance)


_short_helps(app)
