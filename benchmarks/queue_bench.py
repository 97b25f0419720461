"""Queue listing latency: filters and Nordic full-text search over 100,000 flagged posts.

The target (the queue issue): the queue lists 100,000 posts with filters and search
answering in under 300 ms on SQLite. This builds a fresh, migrated SQLite database in a temp
dir and seeds N flagged posts (6 brands, 6 languages, 50 sources, 20 assignees, published
over 30 days, text generated from Danish/Swedish/Norwegian/English/German/Finnish templates)
in batches of 2,000: posts through ``repo.store_posts`` (FTS triggers included), readings
as one bulk insert, queue rows through ``service.flag``. ``--via-queue-seed`` uses
``tests.support.seeds.queue_seed.seed`` as is instead (a ``session.merge`` per reading:
slower). Triage states and assignees are then spread with one bulk UPDATE (no audit rows):
40,000 ``service.act`` calls would time the seeding, not the queue.

Each query is what a manager runs, ``service.list_queue`` with limit 50 in a fresh
``session_scope`` (the web's unit of work): 2 warm-ups, then median and p95 of 20 runs.
PASS/FAIL is p95 against 300 ms. "x base" is each median divided by the median of a bare
``SELECT * FROM queue_items NOT INDEXED ORDER BY rank DESC LIMIT 50`` (a scan of every
queued row: machine speed, whatever indexes exist) timed in the same run, so figures compare
across machines. ``queue_csv`` for one brand is reported apart (no target). After seeding
it refreshes the planner statistics as the daemon does daily (``--no-analyze``: the worst
case, a database grown since the last refresh).

Run: ``.venv/bin/python benchmarks/queue_bench.py [--posts 100000] [--runs 20]``
(``--posts 5000`` for a quick check; ``--db FILE`` keeps / reuses the seeded database;
``--sql STATEMENT`` applies e.g. a candidate index before timing; ``--explain`` prints
each query's plan; ``--json FILE`` writes the figures).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, this folder is sys.path[0]; put the repository root in its place so the
# project's packages import. (The file is not named queue.py: in this folder that name
# would shadow the standard library's ``queue`` for every benchmark script.)
sys.path.remove(str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from alerts.store import UTCDateTime
from monitor.queue import service
from monitor.queue.service import QueueFilter
from monitor.settings import DatabaseSettings, Settings, parse_settings
from monitor.storage import repo
from monitor.storage.db import analyze, make_engine, session_scope, upgrade
from monitor.storage.models import Reading
from tests.support.seeds import queue_seed
from tests.support.seeds.queue_seed import SeedPost, seed

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TARGET_MS = 300.0
BATCH = 2000
DAYS = 30

BRANDS = [  # weight: a big telco, then smaller brands
    ("Nordtel", 30),
    ("Fjordkraft", 20),
    ("Skandibank", 15),
    ("Ørestad Energi", 15),
    ("Kvarnbo Försäkring", 12),
    ("Vikingpost", 8),
]
LANGS = [("da", 30), ("sv", 22), ("nb", 20), ("en", 14), ("de", 8), ("fi", 6)]
KINDS = ("feed", "wordpress", "discourse", "reddit", "html")
SOURCES = [f"{KINDS[i % len(KINDS)]}-{i:02d}" for i in range(50)]
ASSIGNEES = [
    "mette", "lars", "anna", "erik", "sofie", "ola", "kari", "johan", "elin", "mikko",
    "aino", "jonas", "freja", "nils", "ingrid", "henrik", "sanna", "tove", "pia", "rasmus",
]  # fmt: skip
STATUSES = [("new", 60), ("acknowledged", 15), ("responded", 8), ("resolved", 12)]
STATUSES += [("dismissed", 5)]

# --- text -----------------------------------------------------------------------------------
# Per language: products (definite forms, as complaints use them), problems, durations,
# months, sentence frames, openers, closers, titles and one rare sentence (~1 in 1,200 posts
# of the language) that the "rare word" search finds. Slots: {brand} {product} {Product}
# {problem} {dur} {n} {amount} {order} {month}.

LEXICON: dict[str, dict[str, list[str]]] = {
    "da": {
        "product": [
            "mobilabonnementet", "fakturaen", "kundeservicen", "bredbåndet", "routeren",
            "fibernettet", "appen", "dækningen", "regningen", "opsigelsen", "leveringen",
            "netbanken", "strømaftalen", "tv-pakken", "selvbetjeningen", "erstatningen",
        ],
        "problem": [
            "er forsinket igen", "blev aldrig leveret", "viser forkerte tal", "virker stadig ikke",
            "har været nede i {n} dage", "er alt for dyr", "blev trukket to gange",
            "forsvandt midt i en samtale", "hænger hver aften", "er langsommere end nogensinde",
            "er fuld af fejl", "er aldrig blevet rettet", "blev lukket uden varsel",
            "koster pludselig {amount} kr mere",
        ],
        "dur": ["to timer", "45 minutter", "tre dage", "en hel uge", "halvanden time"],
        "month": ["januar", "februar", "marts", "april", "oktober", "november"],
        "frame": [
            "Tre måneder med mobilabonnementet, og dækningen har aldrig virket indendørs.",
            "Kundeservicechefen har ikke svaret på min klage fra {month}.",
            "Jeg blev stillet om {n} gange og endte i den samme telefonkø.",
            "{brand} har sendt fakturaen til en forkert adresse igen.",
            "Teknikeren kom aldrig, selvom vi tog fri fra arbejde.",
            "Nu står der {amount} kr i gebyr for en rykker, jeg aldrig har fået.",
            "Bredbåndsforbindelsen er nede, og supporten henviser bare til hjemmesiden.",
            "Hvorfor er det så svært at opsige et abonnement hos {brand}?",
            "Jeg har været kunde i {n} år, og det her er det værste forløb.",
            "Chatten lukker ned, hver gang jeg skriver ordrenummeret.",
            "{Product} hos {brand} {problem}.",
            "Jeg har ringet til kundeservicen {n} gange, og ingen kan hjælpe.",
            "Ventetiden i telefonkøen var {dur} i dag.",
            "Hvorfor skal jeg betale for {product}, når det ikke virker?",
            "Min nabo har præcis samme problem med {brand}.",
            "Fakturaen for {month} er {amount} kr højere end aftalt.",
            "Jeg har skiftet mobilabonnement to gange, og det er samme rod.",
            "Kundeservicemedarbejderen lovede at ringe tilbage, men det skete aldrig.",
            "{brand} svarer hverken på mails, chat eller telefon.",
            "Ordrenummer {order}, og sagen er stadig ikke løst.",
            "Jeg overvejer seriøst at opsige abonnementet hos {brand}.",
            "Internetforbindelsen falder ud hver gang det blæser.",
            "Selv appen siger bare prøv igen senere, og det har den gjort i {dur}.",
            "Det er ikke i orden at behandle kunder sådan.",
            "Jeg fik en rykker for {product}, som jeg allerede har betalt.",
        ],
        "opener": [
            "Hej {brand}.", "Endnu en gang:", "Er jeg den eneste?", "Seriøst,", "Okay,",
            "Kære {brand},",
        ],
        "closer": [
            "Helt håbløst.", "Tak for ingenting.", "Nogen der ved, hvad man gør?", "Skuffende.",
            "Jeg er så træt af det.",
        ],
        "title": [
            "Opsigelse umulig hos {brand}", "Fakturaen er forkert igen", "Telefonkø uden ende",
            "{brand} svigter igen", "Problemer med {product}", "Elendig kundeservice",
            "Dobbelt regning fra {brand}", "Ingen forbindelse i {dur}",
        ],
        "rare": ["Der har været fibernedbrud i hele kvarteret siden i går."],
    },
    "sv": {
        "product": [
            "mobilabonnemanget", "fakturan", "kundtjänsten", "bredbandet", "routern",
            "fibern", "appen", "täckningen", "räkningen", "uppsägningen", "leveransen",
            "internetbanken", "elavtalet", "försäkringen", "ersättningen",
        ],
        "problem": [
            "är försenad igen", "levererades aldrig", "visar fel siffror",
            "fungerar fortfarande inte", "har legat nere i {n} dagar", "är alldeles för dyr",
            "drogs två gånger", "försvann mitt i ett samtal", "hänger sig varje kväll",
            "är långsammare än någonsin", "blev uppsagd utan förvarning",
            "kostar plötsligt {amount} kr mer",
        ],
        "dur": ["två timmar", "45 minuter", "tre dagar", "en hel vecka"],
        "month": ["januari", "februari", "mars", "oktober", "november"],
        "frame": [
            "Mobiltäckningen inomhus har aldrig fungerat sedan jag bytte till {brand}.",
            "Kundtjänstchefen har inte svarat på mitt klagomål från {month}.",
            "Jag blev kopplad vidare {n} gånger och hamnade i samma kö.",
            "{brand} skickade fakturan till fel adress igen.",
            "Teknikern kom aldrig trots att vi tog ledigt från jobbet.",
            "Nu vill de ha {amount} kr i påminnelseavgift.",
            "Bredbandet är nere och supporten hänvisar bara till hemsidan.",
            "Varför är det så svårt att säga upp ett abonnemang hos {brand}?",
            "{Product} hos {brand} {problem}.",
            "Jag har ringt kundtjänst {n} gånger och ingen kan hjälpa mig.",
            "Kön i telefon var {dur} idag, ingen svarar.",
            "Varför ska jag betala för {product} när det inte fungerar?",
            "Fakturan för {month} är {amount} kr högre än avtalat.",
            "{brand} svarar varken på mejl, chatt eller telefon.",
            "Ordernummer {order} och ärendet är fortfarande öppet.",
            "Jag funderar på att säga upp mobilabonnemanget hos {brand}.",
            "Kundservicen lovade att ringa tillbaka men det hände aldrig.",
            "Det här är inte okej mot kunderna.",
            "Jag fick en påminnelse om {product} som redan är betald.",
            "Försäkringsärendet har legat i {dur} utan svar.",
        ],
        "opener": [
            "Hej {brand}.", "Igen:", "Är jag den enda?", "Allvarligt,", "Okej,", "Kära {brand},",
        ],
        "closer": [
            "Helt hopplöst.", "Tack för ingenting.", "Någon som vet vad man gör?", "Besviken.",
            "Jag är så trött på det här.",
        ],
        "title": [
            "Omöjligt att säga upp {brand}", "Fel på fakturan igen", "Telefonkö utan slut",
            "{brand} sviker igen", "Problem med {product}", "Usel kundtjänst",
            "Dubbel faktura från {brand}",
        ],
        "rare": ["Det har varit fiberavbrott i hela området sedan igår."],
    },
    "nb": {
        "product": [
            "mobilabonnementet", "fakturaen", "kundeservicen", "bredbåndet", "ruteren",
            "fibernettet", "appen", "dekningen", "regningen", "oppsigelsen", "leveringen",
            "nettbanken", "strømavtalen", "forsikringen", "erstatningen",
        ],
        "problem": [
            "er forsinket igjen", "ble aldri levert", "viser feil tall", "virker fortsatt ikke",
            "har vært nede i {n} dager", "er altfor dyr", "ble trukket to ganger",
            "forsvant midt i en samtale", "henger hver kveld", "er tregere enn noen gang",
            "ble stengt uten varsel", "koster plutselig {amount} kr mer",
        ],
        "dur": ["to timer", "45 minutter", "tre dager", "en hel uke"],
        "month": ["januar", "februar", "mars", "oktober", "november"],
        "frame": [
            "Dekningen innendørs har aldri fungert etter at jeg byttet til {brand}.",
            "Kundeservicesjefen har ikke svart på klagen min fra {month}.",
            "Jeg ble satt over {n} ganger og havnet i samme telefonkø.",
            "{brand} sendte fakturaen til feil adresse igjen.",
            "Montøren kom aldri selv om vi tok fri fra jobben.",
            "Nå krever de {amount} kr i purregebyr.",
            "Bredbåndet er nede, og brukerstøtten viser bare til nettsiden.",
            "Hvorfor er det så vanskelig å si opp et abonnement hos {brand}?",
            "{Product} hos {brand} {problem}.",
            "Jeg har ringt kundeservice {n} ganger, og ingen kan hjelpe.",
            "Telefonkøen var på {dur} i dag.",
            "Hvorfor skal jeg betale for {product} når det ikke virker?",
            "Fakturaen for {month} er {amount} kr høyere enn avtalt.",
            "{brand} svarer verken på e-post, chat eller telefon.",
            "Ordrenummer {order}, og saken er fortsatt åpen.",
            "Jeg vurderer å si opp mobilabonnementet hos {brand}.",
            "Kundeservicen lovet å ringe tilbake, men det skjedde aldri.",
            "Dette er ikke greit overfor kundene.",
            "Fikk purring på {product} som allerede er betalt.",
            "Strømregningen er doblet uten forklaring.",
        ],
        "opener": [
            "Hei {brand}.", "Nok en gang:", "Er jeg den eneste?", "Seriøst,", "Ok,",
            "Kjære {brand},",
        ],
        "closer": [
            "Helt håpløst.", "Takk for ingenting.", "Noen som vet hva man gjør?", "Skuffende.",
            "Jeg er så lei av dette.",
        ],
        "title": [
            "Umulig å si opp {brand}", "Feil på fakturaen igjen", "Telefonkø uten ende",
            "{brand} svikter igjen", "Problemer med {product}", "Elendig kundeservice",
            "Feil faktura fra {brand}",
        ],
        "rare": ["Det har vært fiberbrudd i hele nabolaget siden i går."],
    },
    "en": {
        "product": [
            "the mobile plan", "the invoice", "customer service", "the broadband", "the router",
            "the fibre line", "the app", "the coverage", "the bill", "the cancellation",
            "the delivery", "online banking", "the claim",
        ],
        "problem": [
            "is late again", "was never delivered", "shows the wrong figures",
            "still does not work", "has been down for {n} days", "is far too expensive",
            "was charged twice", "dropped in the middle of a call", "freezes every evening",
            "is slower than ever", "was closed without notice",
        ],
        "dur": ["two hours", "45 minutes", "three days", "a whole week"],
        "month": ["January", "February", "October", "November"],
        "frame": [
            "The engineer never showed up even though we took the day off.",
            "Now they want {amount} kr as a late fee for a letter I never got.",
            "Transferred {n} times and ended up in the same queue.",
            "{brand} sent the invoice to the wrong address again.",
            "Why is it so hard to cancel a subscription with {brand}?",
            "A customer for {n} years and this is the worst experience yet.",
            "{Product} from {brand} {problem}.",
            "I have called customer service {n} times and nobody can help.",
            "The phone queue was {dur} today.",
            "Why should I pay for {product} when it does not work?",
            "The invoice for {month} is {amount} kr more than agreed.",
            "{brand} does not answer email, chat or phone.",
            "Order number {order}, still not resolved.",
            "Thinking about cancelling my subscription with {brand}.",
            "They promised a call back and it never happened.",
            "Got a reminder for {product} that I already paid.",
        ],
        "opener": [
            "Hey {brand}.", "Once again:", "Am I the only one?", "Honestly,", "Dear {brand},",
        ],
        "closer": [
            "Hopeless.", "Thanks for nothing.", "Anyone know what to do?", "Disappointing.",
            "So tired of this.",
        ],
        "title": [
            "{brand} fails again", "Problems with {product}", "Terrible support",
            "Cannot cancel {brand}", "Wrong invoice again",
        ],
        "rare": ["There has been a fibre outage across the whole area since yesterday."],
    },
    "de": {
        "product": [
            "der Mobilfunkvertrag", "die Rechnung", "der Kundenservice", "das Internet",
            "der Router", "die App", "die Kündigung", "die Lieferung", "die Versicherung",
        ],
        "problem": [
            "ist schon wieder verspätet", "wurde nie geliefert", "zeigt falsche Zahlen",
            "funktioniert immer noch nicht", "ist seit {n} Tagen ausgefallen", "ist viel zu teuer",
            "wurde doppelt abgebucht", "ist langsamer als je zuvor",
        ],
        "dur": ["zwei Stunden", "45 Minuten", "drei Tage", "eine ganze Woche"],
        "month": ["Januar", "Februar", "Oktober", "November"],
        "frame": [
            "Der Techniker ist nie gekommen, obwohl wir uns freigenommen haben.",
            "Jetzt verlangen sie {amount} Kronen Mahngebühr.",
            "Ich wurde {n} Mal weiterverbunden und landete in derselben Warteschleife.",
            "{brand} hat die Rechnung wieder an die falsche Adresse geschickt.",
            "Warum ist es so schwer, bei {brand} zu kündigen?",
            "{Product} bei {brand} {problem}.",
            "Ich habe {n} Mal beim Kundenservice angerufen, niemand hilft.",
            "Die Warteschleife dauerte heute {dur}.",
            "Die Rechnung für {month} ist {amount} Kronen höher als vereinbart.",
            "{brand} antwortet weder auf E-Mails noch am Telefon.",
            "Auftragsnummer {order}, immer noch nicht gelöst.",
            "Ich überlege ernsthaft, den Vertrag bei {brand} zu kündigen.",
            "Das ist eine Frechheit gegenüber Kunden.",
        ],
        "opener": ["Hallo {brand}.", "Schon wieder:", "Bin ich der Einzige?", "Ehrlich gesagt,"],
        "closer": [
            "Völlig hoffnungslos.", "Danke für nichts.", "Weiß jemand Rat?", "Enttäuschend.",
        ],
        "title": [
            "{brand} versagt wieder", "Ärger mit {brand}", "Schlechter Service",
            "Kündigung unmöglich",
        ],
        "rare": ["Seit gestern gibt es einen Glasfaserausfall im ganzen Viertel."],
    },
    "fi": {
        "product": [
            "liittymä", "lasku", "asiakaspalvelu", "laajakaista", "reititin", "sovellus",
            "kuuluvuus", "irtisanominen", "toimitus", "vakuutus",
        ],
        "problem": [
            "on taas myöhässä", "ei koskaan saapunut", "näyttää vääriä lukuja",
            "ei vieläkään toimi", "on ollut poissa käytöstä {n} päivää", "on aivan liian kallis",
            "veloitettiin kahdesti", "on hitaampi kuin koskaan",
        ],
        "dur": ["kaksi tuntia", "45 minuuttia", "kolme päivää", "koko viikon"],
        "month": ["tammikuun", "helmikuun", "lokakuun", "marraskuun"],
        "frame": [
            "Asentaja ei koskaan tullut, vaikka otimme vapaapäivän.",
            "Nyt he vaativat {amount} kruunun muistutusmaksun.",
            "Minut yhdistettiin {n} kertaa eteenpäin samaan jonoon.",
            "{brand} lähetti laskun taas väärään osoitteeseen.",
            "Miksi sopimuksen irtisanominen on näin vaikeaa, {brand}?",
            "{Product} ({brand}) {problem}.",
            "Olen soittanut asiakaspalveluun {n} kertaa eikä kukaan auta.",
            "Puhelinjonossa meni tänään {dur}.",
            "{month} lasku on {amount} kruunua suurempi kuin sovittiin.",
            "{brand} ei vastaa sähköpostiin, chattiin eikä puhelimeen.",
            "Tilausnumero {order}, asia on edelleen auki.",
            "Harkitsen vakavasti sopimuksen irtisanomista, {brand}.",
            "Tämä ei ole hyväksyttävää.",
        ],
        "opener": ["Hei {brand}.", "Taas kerran:", "Olenko ainoa?", "Rehellisesti,"],
        "closer": [
            "Täysin toivotonta.", "Kiitos ei mistään.", "Tietääkö joku mitä tehdä?", "Pettymys.",
        ],
        "title": [
            "{brand} pettää taas", "Ongelmia: {product}", "Surkea asiakaspalvelu",
            "Irtisanominen mahdotonta",
        ],
        "rare": ["Koko alueella on ollut kuitukatko eilisestä asti."],
    },
}  # fmt: skip
RARE_RATE = 1 / 1200
SLOTS = ("product", "problem", "dur", "month")


def template_count() -> int:
    return sum(
        len(words[k]) for words in LEXICON.values() for k in ("frame", "opener", "closer", "title")
    ) + sum(len(words["problem"]) for words in LEXICON.values())


class Writer:
    """Deterministic post text: 2-6 sentences (a long blog post now and then)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def fill(self, lang: str, frame: str, brand: str) -> str:
        words, rng = LEXICON[lang], self.rng
        product = rng.choice(words["product"])
        values = {
            "brand": brand,
            "product": product,
            "Product": product[:1].upper() + product[1:],
            "problem": rng.choice(words["problem"]),
            "dur": rng.choice(words["dur"]),
            "month": rng.choice(words["month"]),
        }
        text = frame.format(**values, n="{n}", amount="{amount}", order="{order}")
        return text.format(
            n=rng.randint(2, 14), amount=rng.choice((49, 99, 149, 250, 399, 1200)),
            order=rng.randint(1_000_000, 9_999_999),
        )  # fmt: skip

    def post(self, lang: str, brand: str) -> tuple[str | None, str]:
        words, rng = LEXICON[lang], self.rng
        count = rng.randint(8, 16) if rng.random() < 0.05 else rng.randint(2, 6)
        parts = [self.fill(lang, rng.choice(words["frame"]), brand) for _ in range(count)]
        if rng.random() < 0.4:
            parts.insert(0, self.fill(lang, rng.choice(words["opener"]), brand))
        if rng.random() < 0.4:
            parts.append(self.fill(lang, rng.choice(words["closer"]), brand))
        if rng.random() < RARE_RATE:
            parts.insert(rng.randint(0, len(parts)), rng.choice(words["rare"]))
        title = self.fill(lang, rng.choice(words["title"]), brand) if rng.random() < 0.5 else None
        return title, " ".join(parts)


def weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def generate(count: int, seed_value: int = 7) -> Iterator[SeedPost]:
    """``count`` flagged posts; a quarter are comments in an earlier post's thread."""
    rng = random.Random(seed_value)
    writer = Writer(rng)
    source_weights = [(s, max(1, int(200 / (i + 1)))) for i, s in enumerate(SOURCES)]
    roots: list[tuple[str, datetime, str, str]] = []
    for number in range(count):
        post_id = f"q{number:07d}"
        if roots and rng.random() < 0.25:
            root_id, root_at, brand, source = rng.choice(roots[-400:])
            published = min(root_at + timedelta(minutes=rng.randint(1, 48 * 60)), NOW)
            thread_id: str | None = root_id
            kind = "comment"
        else:
            brand, source = weighted(rng, BRANDS), weighted(rng, source_weights)
            published = NOW - timedelta(seconds=rng.randint(0, DAYS * 86400))
            thread_id, kind = None, "post"
            roots.append((post_id, published, brand, source))
        lang = weighted(rng, LANGS)
        title, text = writer.post(lang, brand)
        yield SeedPost(
            id=post_id,
            text=text,
            title=title if kind == "post" else None,
            brand=brand,
            complaint=round(rng.uniform(0.5, 0.99), 3),
            lang=lang,
            source=source,
            published_at=published,
            thread_id=thread_id,
            kind=kind,
            author=f"user{rng.randint(1, 20000)}",
        )


def settings() -> Settings:
    return parse_settings(
        {
            "brands": [{"name": name} for name, _ in BRANDS],
            "sources": [
                {"name": name, "kind": name.split("-")[0], "url": f"http://127.0.0.1:1/{name}"}
                for name in SOURCES
            ],
        }
    )


# --- seeding --------------------------------------------------------------------------------


class Clock:
    """Seconds spent per seeding phase."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self.began = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - self.began
        self.began = now

    def describe(self) -> str:
        return ", ".join(f"{name} {secs:.0f} s" for name, secs in self.phases.items())


def seed_batch(engine: Engine, posts: list[SeedPost], config: Settings, clock: Clock) -> int:
    """``tests.support.seeds.queue_seed.seed`` with one change: readings go in as one Core
    insert instead of a ``session.merge`` per row. Posts still go through
    ``repo.store_posts`` (FTS triggers included) and the queue rows through
    ``service.flag``, as the classify stage calls it."""
    with session_scope(engine) as session:
        clock.began = time.perf_counter()
        sources = repo.sync_sources(session, config, NOW)
        by_source: dict[str, list[repo.PostRecord]] = defaultdict(list)
        for post in posts:
            by_source[post.source].append(queue_seed.record(post, post.published_at or NOW))
        for name, records in by_source.items():
            source_id = sources[name].id
            assert source_id is not None
            repo.store_posts(session, source_id, records, NOW)
        session.flush()
        clock.lap("store_posts")
        rows = [queue_seed.reading(post, NOW) for post in posts]
        session.execute(sa.insert(Reading), [row.model_dump() for row in rows])
        clock.lap("readings")
        added = service.flag(session, rows, 0.5, NOW)
        clock.lap("service.flag")
    clock.lap("commit")
    return added


def seed_all(engine: Engine, posts: int, via_queue_seed: bool) -> tuple[float, str]:
    """Seed ``posts`` flagged posts in batches; the seconds taken and where they went."""
    config = settings()
    clock = Clock()
    began = time.perf_counter()
    batch: list[SeedPost] = []
    flagged = 0
    for post in generate(posts):
        batch.append(post)
        if len(batch) < BATCH:
            continue
        flagged += (
            seed(engine, batch, NOW, config)
            if via_queue_seed
            else seed_batch(engine, batch, config, clock)
        )
        batch = []
        if flagged % (10 * BATCH) == 0:  # progress: seeding 100k takes minutes
            rate = flagged / (time.perf_counter() - began)
            print(f"  seeded {flagged}/{posts} ({rate:.0f} posts/s)", file=sys.stderr)
    if batch:
        flagged += (
            seed(engine, batch, NOW, config)
            if via_queue_seed
            else seed_batch(engine, batch, config, clock)
        )
    assert flagged == posts, (flagged, posts)
    seconds = time.perf_counter() - began
    clock.began = time.perf_counter()
    spread_statuses(engine)
    clock.lap("status spread (bulk UPDATE)")
    return seconds, clock.describe()


def spread_statuses(engine: Engine) -> None:
    rng = random.Random(11)
    with engine.begin() as conn:
        keys = conn.exec_driver_sql("SELECT post_id, brand FROM queue_items ORDER BY post_id").all()
        rows = []
        for post_id, brand in keys:
            status = weighted(rng, STATUSES)
            if status == "new":
                continue
            at = NOW - timedelta(minutes=rng.randint(5, DAYS * 1440))
            responded = status == "responded" or (status == "resolved" and rng.random() < 0.8)
            rows.append(
                {
                    "p": post_id,
                    "b": brand,
                    "s": status,
                    "a": rng.choice(ASSIGNEES) if rng.random() < 0.85 else None,
                    "ack": at,
                    "resp": at + timedelta(minutes=30) if responded else None,
                    "closed": at + timedelta(hours=2)
                    if status in ("resolved", "dismissed")
                    else None,
                }
            )
        table = sa.table(
            "queue_items",
            *(sa.column(c) for c in ("post_id", "brand", "status", "assignee")),
            sa.column("acknowledged_at", UTCDateTime()),
            sa.column("first_response_at", UTCDateTime()),
            sa.column("closed_at", UTCDateTime()),
        )
        update = (
            table.update()
            .where(table.c.post_id == sa.bindparam("p"), table.c.brand == sa.bindparam("b"))
            .values(
                status=sa.bindparam("s"),
                assignee=sa.bindparam("a"),
                acknowledged_at=sa.bindparam("ack"),
                first_response_at=sa.bindparam("resp"),
                closed_at=sa.bindparam("closed"),
            )
        )
        conn.execute(update, rows)


# --- timing ---------------------------------------------------------------------------------


@dataclass
class Timing:
    label: str
    median_ms: float
    p95_ms: float
    total: int

    def passed(self) -> bool:
        return self.p95_ms < TARGET_MS


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def measure(run: Callable[[], int], runs: int, warmups: int = 2) -> tuple[float, float, int]:
    total = 0
    for _ in range(warmups):
        total = run()
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        total = run()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples), percentile(samples, 0.95), total


def listing(engine: Engine, flt: QueueFilter) -> Callable[[], int]:
    def run() -> int:
        with session_scope(engine) as session:
            page = service.list_queue(session, flt)
        assert len(page.rows) == min(flt.limit, max(page.total - flt.offset, 0))
        return page.total

    return run


def export(engine: Engine, flt: QueueFilter) -> Callable[[], int]:
    def run() -> int:
        with session_scope(engine) as session:
            text = service.queue_csv(session, flt)
        return text.count("\n") - 1

    return run


def bare(engine: Engine) -> Callable[[], int]:
    def run() -> int:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT * FROM queue_items NOT INDEXED ORDER BY rank DESC LIMIT 50"
            ).all()
        return len(rows)

    return run


def queries() -> list[tuple[str, QueueFilter]]:
    """The issue's queries, then extras that catch a planner walking the whole queue: a
    very common word, and small filtered sets at the far end of the rank order."""
    brand, source, small = BRANDS[0][0], SOURCES[7], BRANDS[-1][0]
    return [
        ("open queue, first page", QueueFilter()),
        ("open queue, page 20 (offset 950)", QueueFilter(offset=950)),
        (f"brand={brand}", QueueFilter(brand=brand)),
        (f"brand={brand} lang=da status=new", QueueFilter(brand=brand, lang="da", status="new")),
        (f"assignee={ASSIGNEES[3]}", QueueFilter(assignee=ASSIGNEES[3])),
        ("since 24 h", QueueFilter(since=NOW - timedelta(hours=24))),
        (f"source={source}", QueueFilter(source=source)),
        ('q="kundeservice"', QueueFilter(q="kundeservice")),
        ('q="faktura mobilabonnement"', QueueFilter(q="faktura mobilabonnement")),
        ('q="fibernedbrud" (rare)', QueueFilter(q="fibernedbrud")),
        (f'q="kundeservice" brand={brand}', QueueFilter(q="kundeservice", brand=brand)),
        ("status=all", QueueFilter(status="all")),
        ('extra: q="ikke" (very common)', QueueFilter(q="ikke")),
        (
            f"extra: brand={small} lang=fi status=resolved",
            QueueFilter(brand=small, lang="fi", status="resolved"),
        ),
        ("extra: until 29 days ago (oldest day)", QueueFilter(until=NOW - timedelta(days=29))),
        (f"extra: source={SOURCES[-1]} (small)", QueueFilter(source=SOURCES[-1])),
    ]


def capture_sql(engine: Engine, run: Callable[[], int]) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return seen


def explain(engine: Engine, run: Callable[[], int]) -> str:
    lines = []
    with engine.connect() as conn:
        for statement, params in capture_sql(engine, run):
            lines.append("    " + " ".join(statement.split())[:160] + " ...")
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
            lines += [f"      {'  ' * (row[1] > 0)}{row[3]}" for row in plan]
    return "\n".join(lines)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(engine: Engine, path: Path, args: argparse.Namespace) -> int:
    """Seed (or reuse) the database and apply ``--sql``; returns how many posts are queued."""
    upgrade(engine)
    with engine.connect() as conn:
        have = int(conn.exec_driver_sql("SELECT count(*) FROM queue_items").scalar_one())
    if have:
        print(f"reusing {path}: {have} queued posts (not reseeded)")
    else:
        seconds, phases = seed_all(engine, args.posts, args.via_queue_seed)
        have = args.posts
        how = "tests.support.seeds.queue_seed.seed" if args.via_queue_seed else "store_posts + flag"
        print(
            f"seeded {have} flagged posts ({how}, batches of {BATCH}; not part of the "
            f"target): {seconds:.0f} s, {have / seconds:.0f} posts/s ({phases})"
        )
        if not args.no_analyze:  # what the daemon's daily maintenance does (storage.db.analyze)
            began = time.perf_counter()
            analyze(engine)
            print(f"planner statistics refreshed: {time.perf_counter() - began:.1f} s")
    with engine.begin() as conn:
        for statement in args.sql:
            began = time.perf_counter()
            conn.exec_driver_sql(statement)
            print(f"applied: {statement} ({time.perf_counter() - began:.1f} s)")
    return have


def run_queries(engine: Engine, runs: int) -> tuple[float, list[Timing]]:
    base_ms, base_p95, _ = measure(bare(engine), runs)
    print("| query | median ms | p95 ms | x base | rows total | p95 < 300 ms |")
    print("|---|---:|---:|---:|---:|---|")
    print(f"| baseline: bare SELECT (NOT INDEXED) | {base_ms:.1f} | {base_p95:.1f} | 1.0 | - | |")
    results = []
    for label, flt in queries():
        timing = Timing(label, *measure(listing(engine, flt), runs))
        results.append(timing)
        print(
            f"| {label} | {timing.median_ms:.1f} | {timing.p95_ms:.1f} "
            f"| {timing.median_ms / base_ms:.1f} | {timing.total} "
            f"| {'PASS' if timing.passed() else 'FAIL'} |"
        )
    return base_ms, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--db", help="SQLite file to seed, or reuse if it holds a queue")
    parser.add_argument(
        "--sql", action="append", default=[], help="run before timing (on a copy: it stays)"
    )
    parser.add_argument(
        "--via-queue-seed",
        action="store_true",
        help="seed through tests.support.seeds.queue_seed.seed as is (a merge per reading: slower)",
    )
    parser.add_argument("--explain", action="store_true", help="print every query's plan")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="skip the planner statistics the daemon refreshes daily (worst case after growth)",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(args.db) if args.db else Path(folder) / "queue.db"
        engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
        posts = prepare(engine, path, args)
        print(
            f"{len(BRANDS)} brands, {len(LANGS)} languages, {len(SOURCES)} sources, "
            f"{len(ASSIGNEES)} assignees, {DAYS} days, {template_count()} text templates; "
            f"{args.runs} runs after 2 warm-ups, a fresh session_scope each, limit 50\n"
        )
        base_ms, results = run_queries(engine, args.runs)
        brand = BRANDS[0][0]
        csv_med, csv_p95, csv_rows = measure(
            export(engine, QueueFilter(brand=brand)), max(3, args.runs // 4), warmups=1
        )
        print(
            f"\nqueue_csv brand={brand} (open, no target): {csv_rows} rows, "
            f"median {csv_med:.0f} ms, p95 {csv_p95:.0f} ms"
        )
        misses = {t.label for t in results if not t.passed()}
        for label, flt in queries():
            if args.explain or label in misses:
                print(f"\nplan: {label}\n{explain(engine, listing(engine, flt))}")
        worst = max(results, key=lambda t: t.p95_ms)
        print(
            f"\n{posts} posts: {len(results) - len(misses)}/{len(results)} queries p95 "
            f"< {TARGET_MS:.0f} ms; worst p95 {worst.p95_ms:.0f} ms ({worst.label}); "
            f"baseline median {base_ms:.1f} ms; db {path.stat().st_size / 1e6:.0f} MB; "
            f"peak RSS {peak_rss_mb():.0f} MB"
        )
        if args.json:
            summary = {
                "posts": posts,
                "baseline_ms": base_ms,
                "queries": [vars(t) | {"pass": t.passed()} for t in results],
                "csv": {"rows": csv_rows, "median_ms": csv_med, "p95_ms": csv_p95},
                "peak_rss_mb": peak_rss_mb(),
            }
            Path(args.json).write_text(json.dumps(summary, indent=2))
        engine.dispose()


if __name__ == "__main__":
    main()
