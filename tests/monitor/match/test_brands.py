"""Brand matching: one table per rule in the `monitor.match.brands` docstring."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.match.brands import BrandMatcher, BrandSpec, Mention, fold

NORDTEL = BrandSpec(
    "Nordtel",
    ("Nordtel", "Nord Tel", "nordtel.dk", "nordtel.se", "#nordtel", "@nordtel"),
    ("Nordtel Arena", "nordtelarena"),
)
FJORDNETT = BrandSpec("Fjordnett", ("Fjordnett", "fjordnett.no"))
NORDIC_WAVE = BrandSpec("Nordic Wave", ("Nordic Wave",))
ELISA = BrandSpec("Elisa", ("Elisa",))
ORESUND = BrandSpec("Øresund Energi", ("Øresund Energi", "Øresund"))
BAEKKELUND = BrandSpec("Bækkelund Bank", ("Bækkelund",))
TELVIA = BrandSpec("Telvia", ("#telviafail", "telvia.com"))

MATCHER = BrandMatcher([NORDTEL, FJORDNETT, NORDIC_WAVE, ELISA, ORESUND, BAEKKELUND, TELVIA])


def found(text: str) -> list[tuple[str, str, str]]:
    """(brand, alias, original text of the span) for every mention in `text`."""
    return [(m.brand, m.alias, text[m.start : m.end]) for m in MATCHER.mentions(text)]


def case(text: str, *expected: tuple[str, str, str]) -> object:
    return pytest.param(text, list(expected), id=repr(text)[1:-1][:40])


def check(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert found(text) == expected


N = ("Nordtel", "Nordtel")  # brand and alias of the plain name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("NORDTEL er nede", (*N, "NORDTEL")),
        case("nordtel er nede", (*N, "nordtel")),
        case("Nordtél svarer ikke", (*N, "Nordtél")),
        case("NoRdTeL", (*N, "NoRdTeL")),
        case("Oresund Energi hæver prisen", ("Øresund Energi", "Øresund Energi", "Oresund Energi")),
        case("ØRESUND ENERGI", ("Øresund Energi", "Øresund Energi", "ØRESUND ENERGI")),
        case("Öresund är dyrt", ("Øresund Energi", "Øresund", "Öresund")),
        case("Baekkelund lukker filialen", ("Bækkelund Bank", "Bækkelund", "Baekkelund")),
        case("BÆKKELUND", ("Bækkelund Bank", "Bækkelund", "BÆKKELUND")),
        case("Nordtal er ikke os"),
        case("Bakkelund er et andet sted"),
    ],
)
def test_case_and_diacritics_folding(text: str, expected: list[tuple[str, str, str]]) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("Nordtels kundeservice er elendig", (*N, "Nordtel")),
        case("Nordtel's support", (*N, "Nordtel")),
        case("Nordtel’s support", (*N, "Nordtel")),
        case("Nordtel:s kundtjänst", (*N, "Nordtel")),
        case("Nordtel-kunde i ti år", (*N, "Nordtel")),
        case("Nordtel-routeren genstarter hele tiden", (*N, "Nordtel")),
        case("ex-Nordtel", (*N, "Nordtel")),
        case("(Nordtel)", (*N, "Nordtel")),
        case("Skiftede fra Nordtel.", (*N, "Nordtel")),
        case("Supernordtelecom"),
        case("Nordtelecom er et andet firma"),
        case("nordtelkunde"),  # bare compound: deliberately not a mention
        case("nordtel_dk"),
        case("Nordtel5G"),
        case("xNordtel"),
    ],
)
def test_word_boundaries_and_nordic_forms(text: str, expected: list[tuple[str, str, str]]) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("Nordtelin asiakaspalvelu ei vastaa", (*N, "Nordtel")),
        case("Ongelmia Nordtelilla taas", (*N, "Nordtel")),
        case("Nordtel:n verkko", (*N, "Nordtel")),
        case("Elisan lasku", ("Elisa", "Elisa", "Elisa")),
        case("soitin Elisalle", ("Elisa", "Elisa", "Elisa")),
        case("vaihdoin Elisaan", ("Elisa", "Elisa", "Elisa")),
        case("Elisabeth"),
        case("Elisabet"),
    ],
)
def test_finnish_case_endings(text: str, expected: list[tuple[str, str, str]]) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("se www.nordtel.dk/support", ("Nordtel", "nordtel.dk", "nordtel.dk")),
        case("https://nordtel.dk", ("Nordtel", "nordtel.dk", "nordtel.dk")),
        case("HTTPS://NORDTEL.SE/", ("Nordtel", "nordtel.se", "NORDTEL.SE")),
        case("skriv til kundeservice@nordtel.dk", ("Nordtel", "nordtel.dk", "nordtel.dk")),
        case("fjordnett.no/hjelp", ("Fjordnett", "fjordnett.no", "fjordnett.no")),
        case("fjordnettxno"),  # the dot is literal
        case("notfjordnett.no"),
        case("telvia.community"),
        case("https://telvia.com/fail", ("Telvia", "telvia.com", "telvia.com")),
    ],
)
def test_domains(text: str, expected: list[tuple[str, str, str]]) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("igen! #Nordtel", ("Nordtel", "#nordtel", "#Nordtel")),
        case("@nordtel hjælp", ("Nordtel", "@nordtel", "@nordtel")),
        case("#Fjordnett nede", ("Fjordnett", "Fjordnett", "#Fjordnett")),
        case("@fjordnett svar", ("Fjordnett", "Fjordnett", "@fjordnett")),
        case("#NordicWave", ("Nordic Wave", "Nordic Wave", "#NordicWave")),
        case("#TelviaFail igen", ("Telvia", "#telviafail", "#TelviaFail")),
        case("telviafail"),  # a hashtag alias matches only the hashtag
        case("#nordtelfail"),
        case("#fjordnettsupport"),
        case("NordicWave"),  # solid form only as a hashtag
    ],
)
def test_hashtags_and_handles(text: str, expected: list[tuple[str, str, str]]) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("Nordic  Wave", ("Nordic Wave", "Nordic Wave", "Nordic  Wave")),
        case("Nordic\nWave", ("Nordic Wave", "Nordic Wave", "Nordic\nWave")),
        case("Nordic\r\n\tWave", ("Nordic Wave", "Nordic Wave", "Nordic\r\n\tWave")),
        case("Nordic\u00a0Wave", ("Nordic Wave", "Nordic Wave", "Nordic\u00a0Wave")),
        case("Nord \n Tel", ("Nordtel", "Nord Tel", "Nord \n Tel")),
        case("Nordic-Wave"),
        case("Nordic Waves", ("Nordic Wave", "Nordic Wave", "Nordic Wave")),
    ],
)
def test_flexible_whitespace(text: str, expected: list[tuple[str, str, str]]) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("Koncert i Nordtel Arena i aften"),
        case("Nordtel Arenas parkering er elendig"),
        case("NORDTEL  ARENA"),
        case("Nordtél Arena"),
        case("Nordtel Arena var fyldt, men Nordtel-nettet brød sammen", (*N, "Nordtel")),
        case("Nordtel sponsorerer Nordtel Arena", (*N, "Nordtel")),
        case("billetter på nordtelarena.dk"),
    ],
)
def test_excludes(text: str, expected: list[tuple[str, str, str]]) -> None:
    check(text, expected)


def test_excluded_mention_keeps_the_other_mentions_span() -> None:
    text = "Nordtel Arena var fyldt, men Nordtel-nettet brød sammen"
    assert MATCHER.mentions(text) == [Mention("Nordtel", "Nordtel", 29, 36)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("Ærgerligt! ﬁne æøå, Nordtél er nede", (*N, "Nordtél")),
        case("Nordte\u0301l er nede", (*N, "Nordte\u0301l")),
        case("Nord\u00adtel", (*N, "Nord\u00adtel")),
        case("Straße ß Øresund Energi", ("Øresund Energi", "Øresund Energi", "Øresund Energi")),
        case(
            "Ærlig talt, Bækkelund og Nordtel",
            ("Bækkelund Bank", "Bækkelund", "Bækkelund"),
            (*N, "Nordtel"),
        ),
    ],
)
def test_spans_point_into_the_original_text(
    text: str, expected: list[tuple[str, str, str]]
) -> None:
    check(text, expected)


def test_longest_written_alias_names_the_mention() -> None:
    assert found("Nord Tel og Nordtel") == [("Nordtel", "Nord Tel", "Nord Tel"), (*N, "Nordtel")]


def test_mentions_are_in_text_order_across_brands() -> None:
    brands = [m.brand for m in MATCHER.mentions("Elisa, Nordtel og Fjordnett og Nordtel")]
    assert brands == ["Elisa", "Nordtel", "Fjordnett", "Nordtel"]


def test_match_returns_config_order_without_duplicates_across_texts() -> None:
    title, text = "Fjordnett svarer ikke", "Heller ikke Nordtel, og #Fjordnett er værre end Nordtel"
    assert MATCHER.match(title, text) == ["Nordtel", "Fjordnett"]
    assert MATCHER.match("Koncert i Nordtel Arena", "") == []
    assert MATCHER.match() == []


def test_name_is_the_alias_when_none_are_given() -> None:
    matcher = BrandMatcher([BrandSpec("Fjordnett")])
    assert matcher.mentions("fjordnett") == [Mention("Fjordnett", "Fjordnett", 0, 9)]


@pytest.mark.parametrize(
    "spec",
    [BrandSpec("X", ("",)), BrandSpec("X", ("  ",)), BrandSpec(" "), BrandSpec("X", ("x",), ("",))],
)
def test_empty_phrases_are_rejected(spec: BrandSpec) -> None:
    with pytest.raises(ValueError, match="empty"):
        BrandMatcher([spec])


def test_fold_spells_out_nordic_letters() -> None:
    assert fold("ÆØÅ æøå ÐÞ ß Ö é") == "aeoa aeoa dth ss o e"


PIECES = st.sampled_from(
    ["Nordtel", "nord", "tel", "Nord Tel", "Elisa", "Øresund", "Bækkelund", "fjordnett.no",
     "#", "@", ".", "-", "'", ":", "s", "in", "Arena", " ", "\n", "\u00a0", "æ", "ø", "é", "ß",
     "\u0301", "\u00ad", "ﬁ", "İ", "Ⅷ", "¼", "😀", "x", "_", "5"]
)  # fmt: skip


def _compact(text: str) -> str:
    return "".join(fold(text).split())


@given(st.text())
def test_mentions_never_raise_on_any_text(text: str) -> None:
    for mention in MATCHER.mentions(text):
        assert 0 <= mention.start < mention.end <= len(text)


@given(st.lists(PIECES | st.text(max_size=3), max_size=30).map("".join))
def test_every_span_folds_to_contain_its_alias(text: str) -> None:
    for mention in MATCHER.mentions(text):
        assert _compact(mention.alias) in _compact(text[mention.start : mention.end])
