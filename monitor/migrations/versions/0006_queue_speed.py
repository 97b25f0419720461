"""queue speed: a covering queue index; search rows keyed by the post's rowid

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

The queue page's key query is answered from ``ix_queue_status_rank`` alone once it also
holds the keys; and the SQLite search triggers found a post's search row by ``post_id``, an
unindexed FTS5 column, which scanned the whole index on every edit
(benchmarks/queue_bench.py; figures in benchmarks/RESULTS.md, "Storing posts"). The search
rows now share the post's rowid, so an edit or delete touches one row.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SQLITE_SEARCH = [
    "DROP TRIGGER IF EXISTS posts_fts_insert",
    "DROP TRIGGER IF EXISTS posts_fts_update",
    "DROP TRIGGER IF EXISTS posts_fts_delete",
    "DROP TABLE IF EXISTS posts_fts",
    "CREATE VIRTUAL TABLE posts_fts USING fts5(post_id UNINDEXED, title, text, tokenize='trigram')",
    "INSERT INTO posts_fts(rowid, post_id, title, text)"
    " SELECT rowid, id, coalesce(title, ''), text FROM posts",
    "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN"
    " INSERT INTO posts_fts(rowid, post_id, title, text)"
    " VALUES (new.rowid, new.id, coalesce(new.title, ''), new.text); END",
    "CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, text ON posts BEGIN"
    " UPDATE posts_fts SET title = coalesce(new.title, ''), text = new.text"
    " WHERE rowid = new.rowid; END",
    "CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN"
    " DELETE FROM posts_fts WHERE rowid = old.rowid; END",
]


def upgrade() -> None:
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_status_rank")
        batch_op.create_index(
            "ix_queue_status_rank", ["status", "rank", "post_id", "brand"], unique=False
        )
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_SEARCH:
            op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_status_rank")
        batch_op.create_index("ix_queue_status_rank", ["status", "rank"], unique=False)
