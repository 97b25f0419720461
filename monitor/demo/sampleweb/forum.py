"""Discourse-style JSON for the forum under ``/forum/``.

``/forum/latest.json`` lists topics; ``/forum/t/{slug}/{id}.json`` (or ``/forum/t/{id}.json``)
returns a topic with at most :data:`CHUNK` posts in ``post_stream.posts`` and every post id
in ``post_stream.stream``, as Discourse does; the rest come from
``/forum/t/{id}/posts.json?post_ids[]=...``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from monitor.demo.sampleweb.feeds import paragraphs_html
from monitor.demo.sampleweb.model import ForumPost, Resource, Site, Topic

JSON = "application/json; charset=utf-8"
CHUNK = 20


def discourse_time(dt: datetime) -> str:
    """Discourse writes UTC with milliseconds and a ``Z``."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _json(doc: Any, modified: datetime) -> Resource:
    return Resource(json.dumps(doc, ensure_ascii=False).encode(), JSON, modified)


def _last(topic: Topic) -> datetime:
    return max(p.published for p in topic.posts)


def latest(site: Site) -> Resource:
    topics = sorted(site.topics, key=_last, reverse=True)
    doc = {
        "users": [],
        "topic_list": {
            "can_create_topic": False,
            "per_page": 30,
            "topics": [_topic_summary(t) for t in topics],
        },
    }
    return _json(doc, max(_last(t) for t in topics))


def _topic_summary(t: Topic) -> dict[str, Any]:
    return {
        "id": t.id,
        "title": t.title,
        "fancy_title": t.title,
        "slug": t.slug,
        "posts_count": len(t.posts),
        "reply_count": len(t.posts) - 1,
        "created_at": discourse_time(t.posts[0].published),
        "last_posted_at": discourse_time(_last(t)),
        "bumped_at": discourse_time(_last(t)),
        "bumped": True,
        "category_id": 4,
        "closed": False,
        "archived": False,
    }


def topic(t: Topic) -> Resource:
    doc = {
        "id": t.id,
        "title": t.title,
        "fancy_title": t.title,
        "slug": t.slug,
        "posts_count": len(t.posts),
        "created_at": discourse_time(t.posts[0].published),
        "last_posted_at": discourse_time(_last(t)),
        "post_stream": {
            "posts": [_post(t, p) for p in t.posts[:CHUNK]],
            "stream": [t.post_id(p.number) for p in t.posts],
        },
    }
    return _json(doc, _last(t))


def posts(t: Topic, post_ids: list[int]) -> Resource:
    wanted = set(post_ids)
    chosen = [p for p in t.posts if t.post_id(p.number) in wanted]
    doc = {"id": t.id, "post_stream": {"posts": [_post(t, p) for p in chosen]}}
    return _json(doc, _last(t))


def _post(t: Topic, p: ForumPost) -> dict[str, Any]:
    return {
        "id": t.post_id(p.number),
        "name": p.username.replace("_", " ").title(),
        "username": p.username,
        "post_number": p.number,
        "post_type": 1,
        "cooked": paragraphs_html([p.text]),
        "created_at": discourse_time(p.published),
        "updated_at": discourse_time(p.published),
        "reply_to_post_number": p.reply_to,
        "reply_count": sum(1 for q in t.posts if q.reply_to == p.number),
        "topic_id": t.id,
        "topic_slug": t.slug,
        "staff": p.username.startswith("Nordtel_"),
    }
