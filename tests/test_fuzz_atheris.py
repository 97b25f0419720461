"""Each atheris target (tests/fuzz_atheris.py) runs a bounded coverage-guided campaign in
its own process, from a small seed corpus of real document shapes: it must end with exit
status 0 (no exception, no input over the per-input timeout, none allocating past the
address-space limit) and leave no crash file. Skips where atheris is not installed (it
is a dev dependency)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

pytest.importorskip("atheris", reason="atheris is not installed (pip install -e '.[dev]')")

MEMORY_MB = 3000  # address space per campaign (see tests/fuzz_atheris.py)
RUNS = {"sources": 1500, "settings": 3000, "brands": 3000}  # inputs per campaign

SEEDS: dict[str, list[bytes]] = {
    "sources": [
        b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>Nordtel</title>'
        b"<link>https://x.dk/p/1</link><description>Nordtel svarer ikke</description>"
        b"<pubDate>Mon, 02 Nov 2026 09:00:00 +0000</pubDate></item></channel></rss>",
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>t</title>'
        b'<link href="https://x.dk/p/2"/><content type="html">&lt;p&gt;hej&lt;/p&gt;</content>'
        b"<updated>2026-11-02T09:00:00Z</updated><id>x</id></entry></feed>",
        json.dumps(
            {
                "post_stream": {
                    "posts": [{"id": 1, "post_number": 1, "cooked": "<p>Nordtel</p>"}],
                    "stream": [1],
                },
                "topic_list": {"topics": [{"id": 1, "slug": "a"}]},
                "title": "Nordtel",
            }
        ).encode(),
        b"<html><body><article><h1>Nordtel</h1><p>Kundeservice svarer ikke.</p></article>"
        b"</body></html>",
        # found by this campaign: NUL bytes reached a post's text (PostgreSQL refuses them)
        b'<feed xmlns="http://www.w3.org/2005/=tom"><entry><title>t</title>'
        b'<link href="https://x.dk/p/2"/><><content type="html">&lt;p&gt;hej&l\x00\x00\x00'
        b"\x00&gt;</content><updated>2026-11-02T09:00:00Z</updated><id>x</id></entry></feed>",
    ],
    "settings": [
        b'[database]\nurl = "sqlite:///x.db"\n[[brands]]\nname = "Nordtel"\n'
        b'[[sources]]\nname = "b"\nkind = "feed"\nurl = "https://x.dk/feed"\ninterval = 60\n',
        b"[network]\ndeadline = -1\n[queue]\nflag_threshold = 2\n",
    ],
    "brands": [
        "Nordtels kundeservice, #nordtel og nordtel.dk; Ørestad Energi".encode(),
        "Kvarnbo Försäkrings svar".encode(),
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("target", sorted(SEEDS))
def test_atheris_campaign_finds_nothing(target: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number, seed in enumerate(SEEDS[target]):
        (corpus / f"seed{number}").write_bytes(seed)
    done = subprocess.run(
        [
            sys.executable, "-m", "tests.fuzz_atheris", target, str(corpus),
            f"-runs={RUNS[target]}", "-max_len=4096", "-timeout=10", "-rss_limit_mb=0",
            "-seed=1", f"-artifact_prefix={tmp_path}/",
        ],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, "STORMWATCH_FUZZ_MEMORY_MB": str(MEMORY_MB)},
    )  # fmt: skip
    found = sorted(p.name for p in tmp_path.iterdir() if p.name != "corpus")
    assert done.returncode == 0, (found, done.stderr[-3000:])
    assert not found, (found, done.stderr[-3000:])
    assert f"Done {RUNS[target]} runs" in done.stderr, done.stderr[-1000:]
