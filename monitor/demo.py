"""The offline demo (first README command): a local simulated web, crawled for real.

The bundled sample site (blogs with comment threads, a Discourse forum, news, alerts and
Reddit feeds in Danish, Swedish, Norwegian and English) is served on 127.0.0.1, crawled
into a SQLite store, crawled again (conditional requests: nothing new), then a post is
edited on the site and the third pass updates it in place. Then every post is read by the
real multilingual model (converted offline on first use) and the complaints are listed
with the passage that decided. Storms, paging and the queue UI join as they land.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from monitor.app import build_app
from monitor.sampleweb import SampleWeb
from monitor.settings import Settings, parse_settings
from monitor.storage import repo
from monitor.storage.db import session_scope, upgrade


def demo_settings(base_url: str, db_path: Path, feeds: dict[str, tuple[str, str]]) -> Settings:
    sources = [
        {"name": name, "kind": kind, "url": base_url + path, "interval": 60}
        for name, (kind, path) in feeds.items()
    ]
    for source in sources:
        if source["kind"] == "discourse":
            source["brand"] = "Nordtel"  # the brand's own community forum
    raw: dict[str, Any] = {
        "database": {"url": f"sqlite:///{db_path}"},
        "network": {"allowed_hosts": ["127.0.0.1"], "min_host_interval": 0.0, "deadline": 10},
        "log": {"format": "text"},
        "brands": [
            {
                "name": "Nordtel",
                "aliases": ["nordtel.dk", "nordtel.se", "#nordtel"],
                "excludes": ["Nordtel Arena"],
            },
            {"name": "Teleborg", "aliases": ["teleborg.se"]},
        ],
        "sources": sources,
    }
    return parse_settings(raw, "demo")


def run_demo(console: Console, workdir: Path | None = None, serve: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="stormwatch-demo-") as tmp:
        folder = workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        with SampleWeb() as web:
            settings = demo_settings(web.base_url, folder / "demo.db", web.feeds())
            console.print(
                f"[bold]Sample site[/bold] {web.base_url}  (database {folder / 'demo.db'})"
            )
            asyncio.run(_passes(console, web, settings))


async def _passes(console: Console, web: SampleWeb, settings: Settings) -> None:
    from monitor.cli import print_reports

    app = build_app(settings)
    try:
        await asyncio.to_thread(upgrade, app.engine)
        names = [s.name for s in settings.sources]
        for title, before in (
            ("first pass: everything is new", None),
            ("second pass: conditional requests, nothing new", None),
            ("third pass: a blog post was edited on the site", _edit_first_post),
        ):
            if before:
                before(web)
            console.print(f"\n[bold]{title}[/bold]")
            print_reports(await app.crawler.crawl(names, datetime.now(UTC)), as_json=False)
        _summary(console, app.engine)
        console.print("\n[bold]reading every post in its own language[/bold] (real model, offline)")
        read = await asyncio.to_thread(app.classify.drain, datetime.now(UTC))
        if read.unavailable:
            console.print(f"classifier unavailable: {read.unavailable}", markup=False)
        else:
            _complaints(console, app.engine, read.classified)
    finally:
        await app.aclose()


def _edit_first_post(web: SampleWeb) -> None:
    first = next(i for i in web.expected().items if i.kind == "blog_post" and i.brands)
    slug = first.url.rstrip("/").rsplit("/", 1)[-1]
    web.edit_post(slug, text="Opdatering: Nordtel har nu svaret og lovet en tekniker i morgen.")


def _summary(console: Console, engine: Any) -> None:
    with session_scope(engine) as session:
        posts = repo.list_posts(session, limit=100_000)
        brands = repo.brands_of(session, [p.id for p in posts])
    langs = Counter(p.lang or "unsure" for p in posts)
    kinds = Counter(p.kind for p in posts)
    per_brand = Counter(b for p in posts for b in brands.get(p.id, []))
    console.print(
        f"\n[bold]Stored[/bold] {len(posts)} posts — {dict(kinds)}; languages {dict(langs)}; "
        f"brands {dict(per_brand)}; edited {sum(1 for p in posts if p.edits)}"
    )


def _complaints(console: Console, engine: Any, classified: int) -> None:
    """The most complaining posts, with the passage that decided (what the queue will show)."""
    from rich.table import Table
    from sqlmodel import col, select

    from monitor.storage.models import Post, Reading

    with session_scope(engine) as session:
        query = (
            select(Reading, Post)
            .join(Post, col(Post.id) == col(Reading.post_id))
            .order_by(col(Reading.complaint).desc())
        )
        rows = session.exec(query).all()
    flagged = [(r, p) for r, p in rows if r.label == "complaint"]
    console.print(f"{classified} (post, brand) readings; {len(flagged)} flagged as complaints")
    table = Table("brand", "lang", "complaint", "kind", "passage that decided")
    for reading, post in flagged[:12]:
        table.add_row(
            reading.brand, post.lang or "-", f"{reading.complaint:.2f}", post.kind,
            reading.passage.replace("\n", " ")[:90],
        )  # fmt: skip
    console.print(table)
