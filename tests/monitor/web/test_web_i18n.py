"""Pages in six languages: the catalogues are complete (a string without a translation, or
with other placeholders or markup than its English, fails here), the language is the
user's setting, else the browser's Accept-Language, else English; ``<html lang>`` says
which; dates and numbers are written as the language writes them. The JSON API stays
English."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlmodel import col, select

from monitor.storage.db import session_scope
from monitor.storage.models import User
from monitor.web.catalogues import extract
from monitor.web.format import (
    ago,
    chance,
    duration,
    incident_headline,
    language,
    num,
    pct,
    times_usual,
    when,
)
from monitor.web.i18n import DEFAULT, LOCALE_DIR, LOCALES, negotiate, parse_accept_language
from tests.support.worlds.web import INCIDENT, World, build_template, open_world

TRANSLATED = [locale for locale in LOCALES if locale != DEFAULT]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
TAG = re.compile(r"</?\w+[^>]*>")
INCIDENT_PATH = "/incidents/" + quote(INCIDENT, safe="")
DANISH = "da-DK,da;q=0.9,en-US;q=0.8,en;q=0.7"


def catalogue(locale: str) -> Catalog:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def _pairs(message: Message) -> list[tuple[str, str]]:
    """(English, translation) per plural form; a language with more forms than English
    compares its extra forms with the English plural."""
    if isinstance(message.id, tuple):
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        english = [message.id[0], *[message.id[1]] * (len(forms) - 1)]
        return [(e, str(f or "")) for e, f in zip(english, forms, strict=True)]
    return [(message.id, str(message.string or ""))]


def problems(wanted: Catalog, translated: Catalog) -> list[str]:
    """Every msgid of ``wanted`` missing from ``translated``, untranslated, fuzzy, or with
    other placeholders, tags or straight double quotes than its English."""
    found = []
    for message in wanted:
        if not message.id:
            continue
        have = translated.get(message.id)
        name = message.id[0] if isinstance(message.id, tuple) else message.id
        if (
            have is None
            or not have.string
            or (isinstance(have.string, tuple) and not all(have.string))
        ):
            found.append(f"untranslated: {name!r}")
            continue
        if have.fuzzy:
            found.append(f"fuzzy: {name!r}")
        for english, said in _pairs(have):
            if sorted(PLACEHOLDER.findall(english)) != sorted(PLACEHOLDER.findall(said)):
                found.append(f"placeholders differ: {english!r} -> {said!r}")
            if sorted(TAG.findall(english)) != sorted(TAG.findall(said)):
                found.append(f"markup differs: {english!r} -> {said!r}")
            if said.count('"') != english.count('"') or said.count("<") != english.count("<"):
                # a translation is markup (some stand in attributes): no quote or tag of its own
                found.append(f"quotes or brackets differ: {english!r} -> {said!r}")
            if not said.strip():
                found.append(f"empty form: {english!r}")
    return found


# --- the catalogues ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wanted() -> Catalog:
    """Every string the templates and the web modules ask for, extracted now."""
    return extract()


def test_the_extractor_finds_the_templates_and_the_modules_strings(wanted: Catalog) -> None:
    ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in wanted if m.id}
    assert len(ids) > 250
    for expected in (
        "Log in",  # a {% trans %} block in a template
        "words in title or text",  # _() in an attribute
        "%(count)s post, most urgent now first",  # a plural block
        "about %(times)s times the usual",  # format.py
        "Saved. Pages are now in this language.",  # a route's notice (WebContext.say)
        "Label corrected. Thank you — it trains the classifier.",  # marked with N_()
    ):
        assert expected in ids, expected


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_string_has_a_translation_with_the_same_placeholders(
    wanted: Catalog, locale: str
) -> None:
    assert problems(wanted, catalogue(locale)) == []


def test_the_check_fails_on_an_untranslated_or_mismatched_string(wanted: Catalog) -> None:
    broken = catalogue("da")
    broken["Log in"].string = ""
    broken["about %(times)s times the usual"].string = "omkring %(gange)s gange"
    broken["Acknowledge this incident as <strong>%(who)s</strong>?"].string = "Kvittér som %(who)s?"
    broken["words in title or text"].string = 'ord" onmouseover="x'  # it stands in an attribute
    found = problems(wanted, broken)
    assert "untranslated: 'Log in'" in found
    assert any("placeholders differ" in p and "gange" in p for p in found), found
    assert any(p.startswith("markup differs") for p in found), found
    assert any(p.startswith("quotes or brackets differ") and "onmouseover" in p for p in found)
    assert len(found) == 5, found  # the dropped <strong> counts as both


# --- which language ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chosen", "header", "expected"),
    [
        (None, DANISH, "da"),
        (None, "sv-SE", "sv"),
        (None, "nb-NO,nb;q=0.9", "nb"),
        (None, "no", "nb"),
        (None, "nn-NO", "nb"),  # nynorsk readers get bokmål
        (None, "fi", "fi"),
        (None, "de-AT, de;q=0.8", "de"),
        (None, "fr-FR, sv;q=0.5, da;q=0.7", "da"),  # the best we have, by weight
        (None, "fr-FR, pt", "en"),
        (None, "da;q=0, sv;q=0.1", "sv"),  # q=0: "not this one"
        (None, "da;q=nonsense, fi;q=0.2", "fi"),
        (None, "*", "en"),
        (None, "", "en"),
        (None, None, "en"),
        ("de", DANISH, "de"),  # the user's own setting first
        ("xx", DANISH, "da"),  # a stale setting is passed over
    ],
)
def test_the_language_is_the_users_else_the_browsers_else_english(
    chosen: str | None, header: str | None, expected: str
) -> None:
    assert negotiate(chosen, header) == expected


def test_accept_language_is_read_in_weight_order() -> None:
    assert parse_accept_language("en;q=0.2, da, sv;q=0.5") == ["da", "sv", "en"]
    assert parse_accept_language("," * 10_000) == []


# --- dates and numbers ---------------------------------------------------------------------------

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CPH = ZoneInfo("Europe/Copenhagen")


def test_numbers_are_written_as_the_language_writes_them() -> None:
    assert (num(1234.5), num(1234.5, locale="da"), num(1234.5, locale="de")) == (
        "1,234.50",
        "1.234,50",
        "1.234,50",
    )
    assert num(1234.5, locale="sv") == "1\xa0234,50"  # a no-break space groups thousands
    assert num(0.42, 1, "fi") == "0,4"
    assert (pct(0.42), pct(0.42, "da")) == ("42%", "42\xa0%")
    assert times_usual(422.06, locale="da") == "omkring 420 gange det normale"
    assert times_usual(2.5, locale="de") == "etwa das 2,5-Fache des Üblichen"
    assert times_usual(1.4, locale="sv") == "40\xa0% mer än normalt"
    assert chance(2.4e-07, locale="da") == "omkring 1 chance ud af 4.200.000 på en almindelig dag"
    assert chance(2.4e-07) == "about a 1-in-4,200,000 chance on an ordinary day"
    assert language("da", "de") == "Dänisch"
    assert language("da") == "Danish"
    assert language("?", "fi") == "tuntematon kieli"


def test_dates_and_spans_are_written_as_the_language_writes_them() -> None:
    assert when(AT, CPH) == "2026-11-02 10:00 CET"  # English keeps the sortable form
    assert when(AT, CPH, "da") == "2. nov. 2026 10.00 CET"
    assert when(AT, CPH, "de") == "02.11.2026 10:00 CET"
    assert when(AT, CPH, "fi") == "2.11.2026 10.00 CET"
    later = datetime(2026, 11, 2, 13, 36, tzinfo=UTC)
    assert ago(AT, later) == "4 h 36 min ago"
    assert ago(AT, later, "da") == "for 4 t 36 min siden"
    assert ago(AT, later, "de") == "vor 4 Std. 36 Min."
    assert ago(AT, later, "fi") == "4 h 36 min sitten"
    assert duration(3 * 86400 + 7200, "sv") == "3 d 2 tim"


# --- pages ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("web"))


@pytest.fixture
def web(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from open_world(template, tmp_path, monkeypatch)


def browser(web: World, accept_language: str | None) -> TestClient:
    client = web.client()
    if accept_language is not None:
        client.headers["Accept-Language"] = accept_language
    return client


def lang_of(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', page)
    assert found, page[:200]
    return found.group(1)


def csrf(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found
    return found.group(1)


def stored_language(world: World, name: str) -> str | None:
    with session_scope(world.engine) as session:
        return session.exec(select(User).where(col(User.name) == name)).one().language


def test_a_danish_browser_gets_danish_pages(web: World) -> None:
    client = browser(web, DANISH)
    login = client.get("/login")
    assert lang_of(login.text) == "da"
    assert login.headers["content-language"] == "da"
    assert "Brugernavn" in login.text
    assert "Adgangskode" in login.text
    web.login("mia", client)
    incidents = client.get("/incidents").text
    assert lang_of(incidents) == "da"
    assert "Åbne hændelser" in incidents
    assert ">Kø</a>" in incidents
    assert "Open incidents" not in incidents
    queue = client.get("/queue").text
    assert re.search(r"\d+ indlæg, de mest presserende først", queue)
    assert 'placeholder="ord i titel eller tekst"' in queue
    incident = client.get(INCIDENT_PATH).text
    assert "Klager i timen" in incident
    assert ">Kvittér</button>" in incident
    assert "Complaints per hour" not in incident
    # the API stays English whatever the browser says
    assert client.get("/api/v1/me").headers.get("content-language") is None


def test_a_refused_login_says_so_in_the_browsers_language(web: World) -> None:
    client = browser(web, "sv-SE,sv;q=0.9")
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    refused = client.post(
        "/login", data={"name": "mia", "password": "wrong", "csrf_token": token.group(1)}
    )
    assert refused.status_code == 401
    assert "Fel användarnamn eller lösenord." in refused.text
    assert lang_of(refused.text) == "sv"


@pytest.mark.parametrize("header", ["xx-YY", "fr-FR, es;q=0.5", "", None])
def test_an_unknown_language_gets_english(web: World, header: str | None) -> None:
    client = browser(web, header)
    page = client.get("/login").text
    assert lang_of(page) == "en"
    assert "User name" in page
    web.login("mia", client)
    assert "Open incidents" in client.get("/incidents").text


def test_the_users_setting_overrides_the_browser_and_blank_gives_it_back(web: World) -> None:
    client = web.login("mia", browser(web, DANISH))
    token = csrf(client.get("/settings").text)
    done = client.post("/settings", data={"language": "de", "timezone": "", "csrf_token": token})
    assert (done.status_code, done.headers["location"]) == (303, "/settings?done=language")
    assert stored_language(web, "mia") == "de"
    page = client.get("/settings?done=language").text
    assert lang_of(page) == "de"
    assert "Gespeichert. Die Seiten sind jetzt in dieser Sprache." in page
    assert '<option value="de" lang="de" selected>Deutsch</option>' in page
    assert "Offene Vorfälle" in client.get("/incidents").text
    assert lang_of(web.login("ada", browser(web, DANISH)).get("/incidents").text) == "da", "hers"

    # a form without the field (an older page) keeps the language
    assert client.post("/settings", data={"timezone": "", "csrf_token": token}).status_code == 303
    assert stored_language(web, "mia") == "de"

    client.post("/settings", data={"language": "auto", "timezone": "", "csrf_token": token})
    assert stored_language(web, "mia") is None
    assert lang_of(client.get("/incidents").text) == "da"


def test_an_unknown_language_setting_is_refused_and_nothing_changes(web: World) -> None:
    client = web.login("mia", browser(web, DANISH))
    token = csrf(client.get("/settings").text)
    client.post("/settings", data={"language": "fi", "timezone": "", "csrf_token": token})
    for bad in ("xx", "<script>", "en-GB-oxendict" * 2):
        refused = client.post(
            "/settings", data={"language": bad, "timezone": "", "csrf_token": token}
        )
        assert refused.status_code in (400, 422), bad
        assert "<script>" not in refused.text
    assert stored_language(web, "mia") == "fi"
    refused = client.post("/settings", data={"language": "xx", "timezone": "", "csrf_token": token})
    assert "unknown language 'xx': use one of en, da, sv, nb, fi, de" in refused.text.replace(
        "&#39;", "'"
    )


def test_a_bulk_action_is_counted_in_the_viewers_language(web: World) -> None:
    client = web.login("mia", browser(web, "nb-NO"))
    landed = client.get("/queue?done=dismiss&changed=1&left=2").text
    assert "Avviste 1 innlegg. 2 ble ikke endret (allerede lukket)." in landed
    english = web.login("ada").get("/queue?done=ack&changed=2&left=1").text
    assert (
        "Acknowledged 2 posts. 1 was left as it was (already acknowledged or further along)."
        in english
    )


def test_a_one_tap_link_says_what_is_wrong_in_the_browsers_language(web: World) -> None:
    """No login on the one-tap page: the language is the phone's."""
    refused = browser(web, DANISH).get(f"/tap/ack/{quote(INCIDENT, safe='')}?token=garbage")
    assert refused.status_code == 400
    assert lang_of(refused.text) == "da"
    assert "Dette link er beskadiget; åbn hændelsen fra køen i stedet." in refused.text
    assert "Kvittér fra en alarm" in refused.text


PAGES = (
    "/incidents",
    INCIDENT_PATH,
    INCIDENT_PATH + "/summary",
    "/queue",
    "/queue?status=dismissed&q=zzz&brand=Nordtel&since=24h",  # the empty result in words
    "/queue/new?seen=2000-01-01T00:00:00Z",  # the "new posts" bar
    "/posts/plain/Nordtel",
    "/posts/hostile/Nordtel",
    "/sources",
    "/oncall",
    "/settings",
    "/trends?days=7",
)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_renders_in_every_language(web: World, locale: str) -> None:
    """Each page in each language: it renders, says its language, and no message was left
    with a placeholder unfilled (a plural block counting the wrong variable fails here)."""
    client = web.login("mia", browser(web, locale))
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[-300:])
        assert "%(" not in response.text, path
        if "<html" in response.text:
            assert lang_of(response.text) == locale, path


def test_an_incident_headline_reads_in_the_language_and_another_shape_stays() -> None:
    stored = "Nordtel: complaint surge (critical, triggered) since 2026-11-02 09:40 CET"
    assert incident_headline(stored) == stored
    assert incident_headline(stored, "da") == (
        "Nordtel: bølge af klager (kritisk, udløst) siden 2026-11-02 09:40 CET"
    )
    ended = (
        "Kvik Bank: complaint surge + fast-growing angry thread (warning, resolved) since "
        "2026-11-02 09:40 CET, ended at 2026-11-02 11:00 CET [history]"
    )
    assert incident_headline(ended, "de") == (
        "Kvik Bank: Beschwerdewelle + schnell wachsender wütender Thread (Warnung, erledigt) "
        "seit 2026-11-02 09:40 CET, endete 2026-11-02 11:00 CET [Verlauf]"
    )
    odd = "Nordtel: 12 complaints in the last hour, 6x normal"
    assert incident_headline(odd, "fi") == odd
