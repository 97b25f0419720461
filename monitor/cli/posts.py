"""``stormwatch posts``: what the crawl stored, newest first, and one post with its edits."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlmodel import Session

from monitor.cli.common import ConfigOpt, JsonOpt, in_session, user_errors, with_session
from monitor.cli.output import iso, out, print_json, print_table, utc
from monitor.clock import parse_since, utcnow
from monitor.errors import StormwatchError
from monitor.storage import repo

posts_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Stored posts.")


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

    def query(session: Session) -> list[dict[str, Any]]:
        when = parse_since(since, utcnow(), name="--since")
        posts = repo.list_posts(session, brand=brand, since=when, source=source, limit=limit)
        brands = repo.brands_of(session, [p.id for p in posts])
        return [post_dict(p, brands.get(p.id, [])) for p in posts]

    rows = in_session(config, query)
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

    def query(session: Session) -> dict[str, Any] | None:
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
        row = with_session(config, query)
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
        "published_at": iso(post.published_at),
        "fetched_at": iso(post.fetched_at),
        "updated_at": iso(post.updated_at),
        "lang": post.lang,
        "brands": sorted(brands),
        "brand_reason": post.brand_reason,
        "content_hash": post.content_hash,
        "edits": post.edits,
        "rating": post.rating,
    }
