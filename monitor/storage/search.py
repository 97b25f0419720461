"""Full-text search over posts: one query, two databases (see migration 0005).

SQLite uses an FTS5 ``trigram`` table (matches inside words: Nordic compounds); PostgreSQL
uses a GIN-indexed ``to_tsvector('simple', ...)`` with prefix terms. Both take the user's
words as plain words: quotes and operators are stripped, so a search box can never inject
query syntax, and every word must match (AND).
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

# Objects created by hand in migration 0005 that the SQLModel metadata does not describe.
_SEARCH_TABLE_PREFIX = "posts_fts"
_SEARCH_INDEX = "ix_posts_search"
_WORD = re.compile(r"\w+", re.UNICODE)
# Why 2: "kø" (queue) and "tv" are real complaints; one-letter words say nothing.
MIN_TERM = 2
# The trigram tokenizer cannot match a shorter term: those go through LIKE (see _short).
TRIGRAM = 3
MAX_TERMS = 8


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """For Alembic: leave the hand-made search objects out of autogenerate comparisons."""
    if name is None:
        return True
    if type_ == "table" and name.startswith(_SEARCH_TABLE_PREFIX):
        return False
    return not (type_ == "index" and name == _SEARCH_INDEX)


def terms(query: str) -> list[str]:
    """The words of a search box, lower-cased, short ones dropped, at most MAX_TERMS."""
    words = [w.lower() for w in _WORD.findall(query) if len(w) >= MIN_TERM]
    return list(dict.fromkeys(words))[:MAX_TERMS]


def matching_post_ids(dialect: str, query: str) -> sa.Select[Any] | None:
    """A SELECT of post ids whose title or text contains every word; None if no usable word."""
    words = terms(query)
    if not words:
        return None
    if dialect == "sqlite":
        return _sqlite(words)
    tsquery = " & ".join(w + ":*" for w in words)
    posts = sa.table("posts", sa.column("id"), sa.column("title"), sa.column("text"))
    document = sa.func.to_tsvector(
        sa.literal_column("'simple'::regconfig"),
        sa.func.coalesce(posts.c.title, "") + " " + posts.c.text,
    )
    condition = document.op("@@")(
        sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), tsquery)
    )
    return sa.select(posts.c.id).where(condition)


def _sqlite(words: list[str]) -> sa.Select[Any]:
    fts = sa.table("posts_fts", sa.column("post_id"), sa.column("title"), sa.column("text"))
    query = sa.select(fts.c.post_id)
    long = [w for w in words if len(w) >= TRIGRAM]
    if long:
        expr = " AND ".join('"' + w.replace('"', "") + '"' for w in long)
        query = query.where(sa.text("posts_fts MATCH :fts_query")).params(fts_query=expr)
    for word in (w for w in words if len(w) < TRIGRAM):
        patterns = [f"%{_escape_like(v)}%" for v in _case_variants(word)]
        query = query.where(
            sa.or_(*(c.like(p, escape="\\") for p in patterns for c in (fts.c.title, fts.c.text)))
        )
    return query


def _case_variants(word: str) -> list[str]:
    """Every upper/lower spelling of the word's non-ASCII letters: SQLite's LIKE folds
    only ASCII, and "KØ" must match "kø" (a short word has at most four)."""
    variants = [""]
    for char in word:
        forms = {char, char.upper()} if not char.isascii() else {char}
        variants = [v + f for v in variants for f in sorted(forms)]
    return variants


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
