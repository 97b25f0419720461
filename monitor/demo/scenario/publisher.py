"""Putting story items on the simulated web (:class:`monitor.demo.sampleweb.SampleWeb`)."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.demo.sampleweb import SampleWeb
from monitor.demo.scenario.story import Item, slugify


class Publisher:
    """Publishes items in order; remembers the ids the site gave topics and comments, so
    replies land in the right topic and under the right comment."""

    def __init__(self, web: SampleWeb) -> None:
        self.web = web
        self.topics: dict[str, int] = {}
        self.comments: dict[str, int] = {}
        self.published = 0

    def publish(self, items: Iterable[Item]) -> int:
        count = 0
        for item in items:
            self._one(item)
            count += 1
        self.published += count
        return count

    def _one(self, item: Item) -> None:
        web, at = self.web, item.at
        if item.kind == "post":
            web.publish_post(item.ref, item.title or "", item.text, published=at,
                             author=item.author, lang=item.lang)  # fmt: skip
        elif item.kind == "comment":
            assert item.thread is not None
            parent = self.comments.get(item.parent) if item.parent else None
            self.comments[item.ref] = web.add_comment(
                item.thread, item.author, item.text, parent=parent, lang=item.lang, published=at
            )
        elif item.kind == "topic":
            self.topics[item.ref] = web.open_topic(
                item.ref, item.title or "", item.author, item.text, published=at, lang=item.lang
            )
        elif item.kind == "reply":
            assert item.thread is not None
            web.reply_in_topic(self.topics[item.thread], item.author, item.text, published=at,
                               lang=item.lang)  # fmt: skip
        else:
            slug = slugify(item.title or item.ref, "_") if item.feed.startswith("reddit-") else ""
            web.publish_article(item.feed, item.ref, item.title or "", item.text, published=at,
                                author=item.author, lang=item.lang, slug=slug,
                                rating=item.rating)  # fmt: skip
