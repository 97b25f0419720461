"""Brand matching speed: ``BrandMatcher.match`` posts per second, 5 brands, one process.

- ``short``: eight realistic posts of about 85 characters in six languages (most posts
  skip a brand at its literal key-word check);
- ``long``: 600-character Danish posts with a mention near the end, where folding the
  text (æ, ø, å and the rest) dominates.

Usage: python benchmarks/brands.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.match.brands import BrandMatcher, BrandSpec

SHORT_POSTS = (
    "Nordtel har lukket min mobil uden varsel, og kundeservice svarer ikke. Elendigt!",
    "Har någon annan problem med fibern idag? Hela området verkar vara nere sedan i morse.",
    "Byttet til Fjordnett i fjor og har ikke angret ett sekund. Anbefales!",
    "Just got my bill from Telvia and they charged me twice for roaming. Again. #fail",
    "Onko kenelläkään muulla ongelmia Nordtelin verkon kanssa tänään? Ei toimi mikään.",
    "Die Rechnung von Nordtel ist schon wieder falsch, und die Hotline ist nie erreichbar.",
    "Vi var på koncert i Nordtel Arena i går – fantastisk lyd, men elendig parkering.",
    "Ringte www.baltcom.se/support tre gånger, ingen svarade. Byter operatør nu.",
)

_DANISH = (
    "Jeg har været kunde i mange år, men i dag gik alt galt på én gang. Først forsvandt "
    "forbindelsen på mobilen, så røg fibernettet, og til sidst kunne jeg ikke engang "
    "komme igennem til kundeservice, hvor køen var på over en time. Min søster på Fyn "
    "oplever præcis det samme, og naboerne i opgangen siger, at det har stået på siden "
    "i morges. Det er ærgerligt, for prisen er ellers fin, og dækningen plejer at være "
    "god her i området. "
)


def long_post(brand: str, size: int = 600) -> str:
    """A Danish post of ``size`` characters that names ``brand`` in its last sentence."""
    ending = f"Nu overvejer jeg for alvor at skifte væk fra {brand}."
    filler = _DANISH * (size // len(_DANISH) + 1)
    return filler[: size - len(ending)] + ending


LONG_POSTS = tuple(long_post(brand) for brand in ("Nordtel", "Fjordnett", "Telvia", "Baltcom"))

BRANDS = [
    BrandSpec("Nordtel", ("Nordtel", "Nord Tel", "nordtel.dk", "nordtel.se", "@nordtel"),
              ("Nordtel Arena", "nordtelarena")),
    BrandSpec("Telvia", ("Telvia", "telvia.com", "#telviafail")),
    BrandSpec("Fjordnett", ("Fjordnett", "Fjord Nett", "fjordnett.no")),
    BrandSpec("Baltcom", ("Baltcom", "baltcom.se", "baltcom.fi")),
    BrandSpec("Suomiverkko", ("Suomiverkko", "SV Verkko")),
]  # fmt: skip


def rate(matcher: BrandMatcher, posts: Sequence[str], seconds: float) -> float:
    """Posts matched per second over ``posts``, repeated for ``seconds``."""
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for post in posts:
            matcher.match(post)
        done += len(posts)
    return done / elapsed


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per case")
    args = parser.parse_args(argv)
    matcher = BrandMatcher(BRANDS)
    for name, posts in (("short", SHORT_POSTS), ("long", LONG_POSTS)):
        chars = round(sum(map(len, posts)) / len(posts))
        per_second = rate(matcher, posts, args.seconds)
        print(
            f"BrandMatcher.match, {name}: {per_second:,.0f} posts/s (5 brands, ~{chars}-char posts)"
        )


if __name__ == "__main__":
    main()
