"""The demo day as a timeline: what appears on the simulated web, and when.

Wednesday 4 March 2026 (Europe/Copenhagen), the day after the sample site's newest item:

- **history** (the eight days before 06:00): ordinary traffic on the forum, Reddit, news;
  with the sample site's own posts it is the baseline the detectors learn from, and it is
  never paged (it was published before the first crawl);
- **day** (06:00-16:30): questions, praise, neutral news, the odd complaint, all day;
- **storm** (from 11:40): a faulty network update takes mobile data and fibre down, and a
  billing run charges March twice; complaints show first on Bluesky (11:40) and as one-star
  reviews on Trustpilot (11:50), then rise on the forum, Reddit and blogs in Danish,
  Swedish, Norwegian and English, next to neutral news and Nordtel's own answers;
- **platforms**: besides the storm, Bluesky has a praising post a day and Trustpilot a
  good review every few days, so neither source is only ever heard in a storm;
- **thread** (from 13:20): blogger Jonas Riis writes about it; at 14:30 the post is shared
  and its comments explode (dozens of angry comments in an hour).

``build_story(seed)`` is deterministic. Items carry the time they are published; the demo
publishes each when the simulated clock reaches it.

Volumes are tuned to the real detectors at their defaults, never the other way round:

- the baseline is ~2 complaints a day, so the storm (10-14 complaints an hour) passes the
  volume detector's floor of 4 in an hour within ~20-40 simulated minutes of its onset,
  while the morning's odd complaint (at most three before 11:40) never does;
- the thread detector wants the exploding comments angrier than the brand's usual posts
  (binomial test against the share of angry posts it has seen): the history and the
  day's neutral traffic keep that share near 0.4, so a burst of 10-20 angry comments in
  half an hour fires; a storm twice as big before 14:30 would drown it;
- no forum topic gets 10 replies in half an hour, so the only fast thread is the blog's.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.demo.scenario import texts_ordinary as ordinary
from monitor.demo.scenario import texts_storm as storm
from monitor.demo.scenario.compose import Composer

TZ = ZoneInfo("Europe/Copenhagen")
DAY = date(2026, 3, 4)
HISTORY_DAYS = 8
SUBREDDIT = {"da": "reddit-denmark", "sv": "reddit-sweden", "nb": "reddit-norge",
             "en": "reddit-denmark"}  # fmt: skip
STORM_LANGS = {"da": 0.5, "sv": 0.25, "nb": 0.15, "en": 0.1}
THREAD_LANGS = {"da": 0.82, "sv": 0.08, "nb": 0.05, "en": 0.05}
# complaints per hour during the storm: (from, until, rate), local times
STORM_RATES = (("11:40", "12:10", 10), ("12:10", "13:00", 14), ("13:00", "14:30", 14),
               ("14:30", "15:30", 12), ("15:30", "16:30", 6))  # fmt: skip


@dataclass(frozen=True)
class Item:
    """One thing published on the simulated web.

    ``kind``: ``post`` (blog post, ``ref`` = slug), ``comment`` (on blog post ``thread``,
    answering comment ``parent`` if set), ``article`` (on ``feed``, ``ref`` = key),
    ``topic`` (forum, ``ref`` = slug) or ``reply`` (in topic ``thread``); on the platform
    feeds ``bluesky`` (a post) and ``trustpilot`` (a review with ``rating`` stars) it is an
    ``article`` too. ``mood`` is what
    it was written as (complaint, grumble, neutral, praise, news, staff)."""

    at: datetime
    kind: str
    feed: str
    ref: str
    title: str | None
    text: str
    author: str
    lang: str
    mood: str
    phase: str
    thread: str | None = None
    parent: str | None = None
    rating: int | None = None  # a review's stars (``trustpilot``)


@dataclass(frozen=True)
class Beat:
    """A line of the story for the terminal."""

    at: datetime
    text: str


@dataclass(frozen=True)
class Story:
    start: datetime
    end: datetime
    items: tuple[Item, ...]
    beats: tuple[Beat, ...]
    onset: datetime  # when the storm starts
    thread_slug: str
    thread_takeoff: datetime  # when the blog post's comments start to explode

    def due(self, after: datetime | None, until: datetime) -> list[Item]:
        """Items published in (after, until]."""
        return [i for i in self.items if (after is None or i.at > after) and i.at <= until]


def local(day: date, hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), TZ)


def slugify(text: str, sep: str = "-") -> str:
    ascii_ = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("æ", "ae"))
    ascii_ = ascii_.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", sep, ascii_).strip(sep)[:60]


@dataclass
class _Builder:
    c: Composer
    items: list[Item] = field(default_factory=list)
    counter: int = 0

    def ref(self, stem: str) -> str:
        self.counter += 1
        return f"{slugify(stem)}-{self.counter}"

    def add(self, item: Item) -> Item:
        self.items.append(item)
        return item

    def article(self, at: datetime, feed: str, entry: tuple[str, str], lang: str,
                author: str, mood: str, phase: str) -> Item:  # fmt: skip
        title, text = entry
        key = self.ref(title)
        if feed.startswith("reddit-"):  # Reddit ids are short base-36 strings
            key = f"1c{self.counter:04x}"
        return self.add(Item(at, "article", feed, key, title, text, author, lang, mood, phase))

    def topic(self, at: datetime, entry: tuple[str, str], lang: str, author: str,
              mood: str, phase: str) -> Item:  # fmt: skip
        title, text = entry
        ref = self.ref(title)
        return self.add(Item(at, "topic", "forum", ref, title, text, author, lang, mood, phase))

    def reply(self, at: datetime, topic: Item, text: str, lang: str, author: str,
              mood: str, phase: str) -> Item:  # fmt: skip
        ref = self.ref("reply")
        return self.add(
            Item(at, "reply", "forum", ref, None, text, author, lang, mood, phase, topic.ref)
        )

    def comment(self, at: datetime, slug: str, text: str, lang: str, author: str,
                mood: str, phase: str, parent: str | None = None) -> Item:  # fmt: skip
        ref = self.ref("comment")
        return self.add(
            Item(at, "comment", "blog", ref, None, text, author, lang, mood, phase, slug, parent)
        )


def build_story(seed: int = 6) -> Story:
    b = _Builder(Composer(seed))
    start = local(DAY, "06:00")
    _history(b, start)
    _ordinary_stretch(b, local(DAY, "06:20"), local(DAY, "16:30"), per_hour=2.4, phase="day")
    _storm(b)
    takeoff = _thread(b)
    _platforms(b, start)  # last: the items above draw the same random numbers as before
    items = tuple(sorted(b.items, key=lambda i: i.at))
    return Story(
        start=start,
        end=local(DAY, "16:30"),
        items=items,
        beats=_beats(),
        onset=local(DAY, "11:40"),
        thread_slug=storm.BLOG_POST_SLUG,
        thread_takeoff=takeoff,
    )


def _beats() -> tuple[Beat, ...]:
    lines = (
        ("06:00", "An ordinary Wednesday: questions, praise, news, the odd complaint."),
        ("11:40", "A faulty network update takes Nordtel's mobile data and fibre down in "
                  "Jutland, Skåne and around Oslo. The first angry posts are on Bluesky."),
        ("11:50", "A one-star review on Trustpilot: \u201cno signal and nobody answers\u201d."),
        ("12:20", "A billing run has charged March twice. Complaints spread: forum, Reddit, "
                  "blogs, in Danish, Swedish, Norwegian and English."),
        ("13:20", f"Blogger Jonas Riis: \u201c{storm.BLOG_POST_TITLE}\u201d"),
        ("14:30", "Jonas's post is shared widely; its comment thread explodes."),
        ("15:45", "Nordtel Kundeservice answers under the post."),
    )  # fmt: skip
    return tuple(Beat(local(DAY, hhmm), text) for hhmm, text in lines)


# --- ordinary traffic -----------------------------------------------------------------------


def _history(b: _Builder, start: datetime) -> None:
    first = start - timedelta(days=HISTORY_DAYS, hours=-4)
    for lang in ("da", "sv", "nb"):  # every subreddit has a post before the first crawl
        b.article(first, SUBREDDIT[lang], b.c.entry(ordinary.PRAISE, lang), lang,
                  b.c.author(lang), "praise", "history")  # fmt: skip
    for days_back in range(HISTORY_DAYS, 0, -1):
        day = (start - timedelta(days=days_back)).date()
        _ordinary_stretch(b, local(day, "07:30"), local(day, "22:30"), per_hour=0.8,
                          phase="history")  # fmt: skip


def _ordinary_stretch(
    b: _Builder, begin: datetime, end: datetime, per_hour: float, phase: str
) -> None:
    at = begin
    while True:
        at += timedelta(hours=b.c.rng.expovariate(per_hour))
        if at >= end:
            return
        _ordinary_item(b, at, phase)


def _ordinary_item(b: _Builder, at: datetime, phase: str) -> None:
    c = b.c
    lang = c.lang({"da": 0.5, "sv": 0.2, "nb": 0.15, "en": 0.15})
    roll = c.rng.random()
    if roll < 0.4:
        topic = b.topic(at, c.entry(ordinary.QUESTIONS, lang), lang, c.author(lang), "neutral",
                        phase)  # fmt: skip
        for minutes in sorted(c.rng.sample(range(10, 150), c.rng.randint(0, 2))):
            text = c.take(ordinary.FORUM_REPLIES, lang)
            b.reply(at + timedelta(minutes=minutes), topic, text, lang, c.author(lang),
                    "neutral", phase)  # fmt: skip
    elif roll < 0.62:
        b.article(at, SUBREDDIT[lang], c.entry(ordinary.PRAISE, lang), lang, c.author(lang),
                  "praise", phase)  # fmt: skip
    elif roll < 0.9:
        feed = "news-json" if lang == "en" else "news-rss"
        b.article(at, feed, c.entry(ordinary.NEWS, lang), lang, "Redaktionen", "news", phase)
    else:
        b.article(at, SUBREDDIT[lang], c.entry(ordinary.GRUMBLES, lang), lang, c.author(lang),
                  "grumble", phase)  # fmt: skip


# --- the storm ------------------------------------------------------------------------------


def _arrivals(b: _Builder, rates: tuple[tuple[str, str, float], ...]) -> list[datetime]:
    times: list[datetime] = []
    for begin, end, rate in rates:
        at, until = local(DAY, begin), local(DAY, end)
        while (at := at + timedelta(hours=b.c.rng.expovariate(rate))) < until:
            times.append(at)
    return times


def _storm(b: _Builder) -> None:
    c = b.c
    topics: list[Item] = []
    for at in _arrivals(b, STORM_RATES):
        lang = c.lang(STORM_LANGS)
        roll = c.rng.random()
        recent = [t for t in topics if at - t.at < timedelta(minutes=90)]
        if roll < 0.4 and recent and c.rng.random() < 0.65:
            b.reply(at, c.pick(recent), c.complaint(lang), lang, c.author(lang), "complaint",
                    "storm")  # fmt: skip
        elif roll < 0.4:
            entry = (c.title(lang), c.complaint(lang))
            topics.append(b.topic(at, entry, lang, c.author(lang), "complaint", "storm"))
        elif roll < 0.85:
            entry = (c.title(lang), c.complaint(lang))
            b.article(at, SUBREDDIT[lang], entry, lang, c.author(lang), "complaint", "storm")
        else:
            slug = c.pick(("regningen-der-ikke-ville-doe", "tre-uger-uden-internet"))
            b.comment(at, slug, c.complaint("da"), "da", c.author("da"), "complaint", "storm")
    _storm_news_and_answers(b, topics)


def _storm_news_and_answers(b: _Builder, topics: list[Item]) -> None:
    news = [("12:35", "news-rss", "da", 0), ("13:05", "news-rss", "sv", 0),
            ("13:40", "news-rss", "da", 1), ("14:10", "news-json", "en", 0),
            ("15:00", "news-rss", "nb", 0)]  # fmt: skip
    for hhmm, feed, lang, index in news:
        entry = ordinary.OUTAGE_NEWS[lang][index]
        b.article(local(DAY, hhmm), feed, entry, lang, "Redaktionen", "news", "storm")
    answers = [("12:25", "da", 0), ("12:50", "sv", 0), ("13:15", "nb", 0), ("13:50", "da", 1)]
    for hhmm, lang, index in answers:
        at = local(DAY, hhmm)
        earlier = [t for t in topics if t.at < at]
        same = [t for t in earlier if t.lang == lang]
        if not earlier:
            continue
        author, text = ordinary.STAFF[lang][index]
        b.reply(at, (same or earlier)[-1], text, lang, author, "staff", "storm")


# --- the exploding blog post ------------------------------------------------------------------


def _thread(b: _Builder) -> datetime:
    c = b.c
    posted = local(DAY, "13:20")
    slug = storm.BLOG_POST_SLUG
    b.add(Item(posted, "post", "blog", slug, storm.BLOG_POST_TITLE, storm.BLOG_POST,
               "Jonas Riis", "da", "complaint", "thread"))  # fmt: skip
    takeoff = local(DAY, "14:30")
    minutes = [14.0, 31.0, 48.0, 62.0]  # a trickle before the post is shared
    minutes += [70 + 60 * ((i + 1) / 48) ** 0.8 for i in range(48)]  # accelerating
    minutes += [130 + 60 * (i + 1) / 12 for i in range(12)]  # the tail
    comments: list[Item] = []
    for offset in minutes:
        at = posted + timedelta(minutes=offset)
        lang = c.lang(THREAD_LANGS)
        parent = c.pick(comments).ref if comments and c.rng.random() < 0.2 else None
        text = c.reaction(lang)
        comments.append(
            b.comment(at, slug, text, lang, c.author(lang), "complaint", "thread", parent)
        )
    b.comment(local(DAY, "15:45"), slug, _KUNDESERVICE, "da", "Nordtel Kundeservice", "staff",
              "thread")  # fmt: skip
    return takeoff


_KUNDESERVICE = (
    "Hej Jonas og alle jer andre. Vi beklager nedbruddet og den dobbelte opkrævning. "
    "Fejlen i nettet er rettet i det meste af Jylland, og det dobbelte beløb bliver "
    "tilbageført automatisk inden for tre bankdage. /Henrik, Nordtel"
)


# --- Bluesky and Trustpilot ----------------------------------------------------------------

BLUESKY_STORM = ("11:40", "11:43", "11:47", "11:52", "12:04", "12:26", "13:12")
TRUSTPILOT_STORM = ("11:50", "12:45")
BLUESKY_DAY = ("08:15", "10:05", "15:20")
TRUSTPILOT_DAYS_BACK = (7, 4, 2)  # a good review on these days before the demo day


def _platforms(b: _Builder, start: datetime) -> None:
    c = b.c
    for days_back in range(HISTORY_DAYS, 0, -1):
        at = local((start - timedelta(days=days_back)).date(), "12:30")
        _bluesky(b, at + timedelta(minutes=7 * days_back), "praise", "history")
        if days_back in TRUSTPILOT_DAYS_BACK:
            _review(b, at + timedelta(hours=3), 5 - days_back % 2, "praise", "history")
    for hhmm in BLUESKY_DAY:
        _bluesky(b, local(DAY, hhmm), "praise", "day")
    _review(b, local(DAY, "09:30"), 5, "praise", "day")
    for hhmm in BLUESKY_STORM:
        _bluesky(b, local(DAY, hhmm), "complaint", "storm", c.lang(STORM_LANGS))
    for hhmm in TRUSTPILOT_STORM:
        _review(b, local(DAY, hhmm), 1, "complaint", "storm")


def _bluesky(b: _Builder, at: datetime, mood: str, phase: str, lang: str = "") -> None:
    c = b.c
    lang = lang or c.lang({"da": 0.5, "sv": 0.2, "nb": 0.15, "en": 0.15})
    text = c.complaint(lang) if mood == "complaint" else c.entry(ordinary.PRAISE, lang)[1]
    b.counter += 1
    rkey = f"3mh{b.counter:010x}"  # a record key shaped like atproto's TIDs
    b.add(Item(at, "article", "bluesky", rkey, None, text, c.author(lang), lang, mood, phase))


def _review(b: _Builder, at: datetime, stars: int, mood: str, phase: str) -> None:
    c = b.c
    lang = "da" if mood == "complaint" else c.lang({"da": 0.7, "sv": 0.3})
    if mood == "complaint":
        title, text = c.title(lang), c.complaint(lang)
    else:
        title, text = c.entry(ordinary.PRAISE, lang)
    b.counter += 1
    rid = f"{b.counter:024x}"  # Trustpilot review ids are 24 hex digits
    b.add(Item(at, "article", "trustpilot", rid, title, text, c.author(lang), lang, mood, phase,
               rating=stars))  # fmt: skip
