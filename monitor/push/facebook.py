"""Facebook Page webhooks (Graph API Webhooks, the ``page`` object's ``feed`` field).

Facebook verifies the endpoint once with ``GET ?hub.mode=subscribe&hub.verify_token=T&
hub.challenge=C`` (we echo C when T is ``[push] facebook_verify_token``), then POSTs
changes signed ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body under the app
secret>``::

    {"object": "page", "entry": [{"id": PAGE_ID, "time": 1520383571, "changes": [
        {"field": "feed", "value": {"item": "post" | "status" | "comment" | ...,
         "verb": "add" | "edited" | "remove", "post_id": "PAGE_POST", "comment_id": ...,
         "parent_id": ..., "message": "...", "created_time": 1520383571,
         "from": {"id": ..., "name": ...}}}]}]}

Each added or edited post or comment is taken from the payload and put in the shape the
Graph API answers (``{"data": [...]}``), so the ``facebook_page`` adapter reads it as it
reads a poll's answer: the same URLs, threads and parents, hence the same posts. A
removal is not a post (the poll does not delete either); a change without text (a photo
without a caption) is left to the next poll, which reads the post in full.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.settings import SourceSettings
from monitor.sources import Request
from monitor.sources.api import as_dict, as_int, as_text
from monitor.sources.facebook_page import POST_URL

__all__ = ["Change", "changes_of"]
POSTS = {"post", "status", "photo", "video", "share"}  # items that are a post on the page


@dataclass(frozen=True)
class Change:
    """One post or comment to store: the source, the Graph-shaped request and body."""

    source: str
    request: Request
    body: bytes


def changes_of(doc: object, sources: list[SourceSettings]) -> tuple[list[Change], dict[str, int]]:
    """The changes worth storing, and the others counted by a named reason
    (``unknown_page``, ``removed``, ``no_text``, ``not_feed``)."""
    by_page = {s.page_id: s for s in sources if s.kind == "facebook_page" and s.push}
    found: list[Change] = []
    skipped: dict[str, int] = {}
    for page, value in _feed_values(doc, skipped):
        source = by_page.get(page)
        change = _change(source, value, skipped) if source else None
        if source is None:
            skipped["unknown_page"] = skipped.get("unknown_page", 0) + 1
        elif change is not None:
            found.append(change)
    return found, skipped


def _feed_values(doc: object, skipped: dict[str, int]) -> Iterator[tuple[str, dict[str, Any]]]:
    entries = as_dict(doc).get("entry")
    for entry in entries if isinstance(entries, list) else []:
        page = as_text(as_dict(entry).get("id")) or ""
        changes = as_dict(entry).get("changes")
        for change in changes if isinstance(changes, list) else []:
            if as_dict(change).get("field") != "feed":
                skipped["not_feed"] = skipped.get("not_feed", 0) + 1
                continue
            yield page, as_dict(as_dict(change).get("value"))


def _change(
    source: SourceSettings, value: dict[str, Any], skipped: dict[str, int]
) -> Change | None:
    item, verb = value.get("item"), value.get("verb")
    reason = "removed" if verb == "remove" else None
    if reason is None and not as_text(value.get("message")):
        reason = "no_text"
    post_id = as_text(value.get("post_id"))
    comment = item == "comment"
    if reason is None and (post_id is None or (comment and not value.get("comment_id"))):
        reason = "not_a_post"
    if reason is None and not comment and item not in POSTS:
        reason = "not_a_post"
    if reason is not None:
        skipped[reason] = skipped.get(reason, 0) + 1
        return None
    assert post_id is not None
    base = source.url.rstrip("/")
    if comment:
        return _comment(source.name, base, post_id, value)
    return _post(source.name, base, post_id, value)


def _post(name: str, base: str, post_id: str, value: dict[str, Any]) -> Change:
    at = _iso(value.get("created_time"))
    graph = {"id": post_id, "message": value.get("message"), "created_time": at,
             "updated_time": at, "from": as_dict(value.get("from"))}  # fmt: skip
    request = Request(f"{base}/{post_id.split('_')[0]}/feed")
    return Change(name, request, json.dumps({"data": [graph]}).encode())


def _comment(name: str, base: str, post_id: str, value: dict[str, Any]) -> Change:
    comment_id = as_text(value.get("comment_id"))
    parent = as_text(value.get("parent_id"))
    graph: dict[str, Any] = {
        "id": comment_id,
        "message": value.get("message"),
        "created_time": _iso(value.get("created_time")),
        "from": as_dict(value.get("from")),
    }
    if parent and parent != post_id:  # a reply: its parent is a comment, not the post
        graph["parent"] = {"id": parent}
    request = Request(f"{base}/{post_id}/comments", "comments", thread_url=POST_URL + post_id)
    return Change(name, request, json.dumps({"data": [graph]}).encode())


def _iso(value: object) -> str | None:
    """Webhooks give Unix seconds where the Graph API gives ISO 8601."""
    seconds = as_int(value)
    if seconds is None:
        return as_text(value)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
