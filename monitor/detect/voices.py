"""One voice per thread and per author for the volume detectors.

A storm is many people in many places. Four agreeing comments under one post are one
conversation (the thread-velocity detector's job, against the thread's own earlier rate), and
one customer who posts the same complaint five times in an hour is one angry customer: counted
as five, either pages a low-volume brand that expects a fraction of one complaint that hour.
So within a window each thread counts at most ``thread_cap`` complaints and then each author
at most ``author_cap`` of what is left (a regular who comments in four threads is still one
person).

Authors are keyed by source and name, case-folded: the same name on two sites may be two
people, and a name on one site is one account. Names that stand for "nobody in particular"
(``Anonymous``, ``Gæst``, ``[deleted]``) are left out of the author cap: on a forum that lets
guests post, every guest is a different person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

NOBODY = frozenset(
    {
        "anon",
        "anonym",
        "anonyme",
        "anonymous",
        "anonymt",
        "anonyymi",
        "deleted",
        "[deleted]",
        "[removed]",
        "gast",
        "gæst",
        "gäst",
        "gjest",
        "guest",
        "unknown",
        "vieras",
    }
)


def voice_of(source: str, author: str | None) -> str | None:
    """The key one person's posts share, or None when the post names nobody in particular."""
    if author is None:
        return None
    name = " ".join(author.casefold().split())
    if not name or name in NOBODY:
        return None
    return f"{source}\x1f{name}"


class VoiceRef(Protocol):
    """What the cap needs of one remembered complaint post (``PostRef`` satisfies it)."""

    @property
    def weight(self) -> float: ...
    @property
    def thread_id(self) -> str | None: ...
    @property
    def author(self) -> str | None: ...


@dataclass
class VoiceCap:
    """Running totals per thread and per author; ``counted(ref)`` is what the next post adds
    once its thread and its author have had their share. Feed refs oldest first."""

    thread_cap: float
    author_cap: float
    threads: dict[str, float] = field(default_factory=dict)
    authors: dict[str, float] = field(default_factory=dict)

    def counted(self, weight: float, thread_id: str | None, author: str | None) -> float:
        if thread_id is not None:
            before = self.threads.get(thread_id, 0.0)
            self.threads[thread_id] = before + weight
            weight = max(0.0, min(weight, self.thread_cap - before))
        if author is not None:
            before = self.authors.get(author, 0.0)
            self.authors[author] = before + weight
            weight = max(0.0, min(weight, self.author_cap - before))
        return weight


def excess(refs: Iterable[VoiceRef], thread_cap: float, author_cap: float) -> float:
    """Complaint mass that threads beyond `thread_cap` and authors beyond `author_cap` add."""
    cap = VoiceCap(thread_cap, author_cap)
    total = 0.0
    for ref in refs:
        total += ref.weight - cap.counted(ref.weight, ref.thread_id, ref.author)
    return total


def repeated(voices: Iterable[str]) -> set[str]:
    """The voices that occur more than once."""
    return {voice for voice, n in Counter(voices).items() if n > 1}
