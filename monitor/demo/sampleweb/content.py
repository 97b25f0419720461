"""The fixed content of the simulated web (all sentences written for this project).

A fictional Nordic telecom, **Nordtel** (nordtel.dk / nordtel.se, #nordtel), its competitor
**Teleborg**, and posts about neither, in Danish, Swedish, Norwegian Bokmål, English, German
and Finnish: complaints, praise, neutral news, sarcasm, a competitor post that names Nordtel
in passing, and a brand-owned forum whose posts often do not name the brand at all.

``build_site(seed)`` is deterministic. Seed 0 gives the times written here (2026, UTC);
another seed shifts every time by the same amount, so order and gaps are kept. The
brands an item mentions are computed by :func:`mentions` unless the item says otherwise
(Finnish inflects the name: "Nordtelin").
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

from monitor.demo.sampleweb.model import Article, BlogPost, Comment, ForumPost, Site, Topic

BRANDS = ("Nordtel", "Teleborg")
_BRAND_RE = {
    brand: re.compile(rf"(?<![\w]){brand}(?:s|'s)?(?![\w])", re.IGNORECASE) for brand in BRANDS
}
ANGRY_SLUG = "tre-uger-uden-internet"


def mentions(*texts: str) -> frozenset[str]:
    """The brands named in ``texts``: the word itself or its genitive ("Nordtels",
    "Nordtel-kunde", "nordtel.dk", "#nordtel"), never a longer word ("Nordtelegrafen")."""
    joined = "\n".join(texts)
    return frozenset(b for b, rx in _BRAND_RE.items() if rx.search(joined))


class _Clock:
    """Times in 2026 (UTC), all shifted by one seed-dependent offset."""

    def __init__(self, seed: int) -> None:
        minutes = random.Random(seed).randint(1, 72 * 60) if seed else 0
        self.shift = timedelta(minutes=minutes)

    def at(self, month: int, day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, month, day, hour, minute, tzinfo=UTC) + self.shift


# --- the WordPress blog (Danish, personal) ------------------------------------------------

_ANGRY_POST = [
    "Den 6. februar gik vores internet ned. I dag er det den 1. marts, og det er stadig "
    "nede. Tre uger og to dage, for at være præcis. Vi har to børn, der skal aflevere "
    "lektier online, og min kone arbejder hjemmefra tre dage om ugen. Vi har været "
    "Nordtel-kunder i elleve år.",
    "Første gang jeg ringede til Nordtels kundeservice, sad jeg i kø i 52 minutter. "
    "Medarbejderen var venlig og lovede, at en tekniker ville komme »inden for 48 timer«. "
    "Der kom ingen. Anden gang var køen en time og tyve minutter, og nu hed det sig, at "
    "fejlen lå i en fordelerboks nede på vejen, og at sagen var »eskaleret«. Tredje gang "
    "blev jeg afbrudt efter fyrre minutter, lige som det var min tur.",
    "Imens har vi betalt fuld pris. Regningen for februar kom punktligt: 399 kroner for en "
    "forbindelse, vi ikke har haft. Da jeg spurgte til et nedslag, fik jeg at vide, at det "
    "kunne jeg søge om via en formular på nordtel.dk, når fejlen var rettet. Formularen "
    "kræver i øvrigt, at man er online.",
    "Det, der gør mig mest vred, er ikke selve fejlen. Ting går i stykker. Det er, at ingen "
    "på noget tidspunkt har sagt undskyld. Ingen har ringet tilbage. Ingen har sendt en sms "
    "med en status. Jeg har fået tre automatiske mails om, at min sag er vigtig for dem, og "
    "en fjerde om, at jeg kan få en ny mobil til halv pris.",
    "Så nu skriver jeg det her i stedet. Hvis nogen hos Nordtel læser med: sagsnummeret er "
    "NT-2026-118-4471. Og hvis andre har prøvet det samme, vil jeg gerne høre, hvordan I "
    "til sidst fik hul igennem. #nordtel",
]

# (id, minutes after the post, author, lang, parent id, text)
_ANGRY_COMMENTS: list[tuple[int, int, str, str, int | None, str]] = [
    (101, 25, "Karina M", "da", None,
     "Præcis det samme her i Vejle. Fire uger nu, og vi har også fået at vide, at det er "
     "en fordelerboks."),
    (102, 38, "Peter Holm", "da", None,
     "Det er så typisk Nordtel. Jeg sad en time og et kvarter i telefonkø i sidste måned "
     "bare for at få ændret min adresse."),
    (103, 47, "Jonas Riis", "da", 101,
     "Karina, har I fået en dato for, hvornår den bliver skiftet? Vi har ikke fået noget "
     "som helst."),
    (104, 55, "Karina M", "da", 103,
     "Nej. »Vi arbejder på det« er alt, hvad vi har fået. Jeg er begyndt at tage "
     "skærmbilleder af ventetiden."),
    (105, 61, "Sofie Andersen", "da", None,
     "Fantastisk service, virkelig. Tre uger uden net og så et tilbud om en ny telefon. "
     "Det kunne man ikke finde på, hvis man prøvede."),
    (106, 66, "Erik Lindqvist", "sv", None,
     "Samma sak hos oss i Malmö, fast med Nordtels fiber. Kundtjänsten lovade att ringa "
     "tillbaka inom ett dygn. Det var tolv dagar sedan."),
    (107, 70, "Lars B", "da", None,
     "Skift til Teleborg. Ikke fordi de er meget bedre, men de tager i det mindste "
     "telefonen."),
    (108, 74, "Mads Kjær", "da", 107,
     "Teleborg er ikke spor bedre. Jeg ventede fem uger på en installation hos dem sidste "
     "år."),
    (109, 78, "anna_k", "en", None,
     "I had almost exactly this with Nordtel last autumn. What finally worked was a "
     "written complaint to the telecom complaints board. They called me back two days "
     "later."),
    (110, 81, "Jonas Riis", "en", 109,
     "Thanks Anna, I'll try that first thing tomorrow. Do you remember whether you had to "
     "include the case number?"),
    (111, 84, "Nordtel Kundeservice", "da", None,
     "Hej Jonas. Det er vi meget kede af at høre, og det er ikke den oplevelse, vi ønsker "
     "for vores kunder. Vi har fundet din sag og sendt den videre til teknisk afdeling. "
     "Skriv gerne til os på Facebook med dit telefonnummer, så ringer vi dig op. "
     "Mvh. Henrik, Nordtel"),
    (112, 87, "Peter Holm", "da", 111,
     "»Skriv til os på Facebook.« Manden har ikke internet."),
    (113, 90, "Sofie Andersen", "da", 111,
     "Tre uger, og så er svaret en standardtekst. Hvorfor ikke bare sige undskyld?"),
    (114, 92, "Ingrid Solberg", "nb", None,
     "Vi hadde nesten det samme med Nordtel i Bergen i fjor. Tre uker uten bredbånd, og "
     "fakturaen kom som vanlig. Det som hjalp, var å klage skriftlig og kreve prisavslag."),
    (115, 94, "Thomas Weber", "de", None,
     "Bei uns in Flensburg hatte Nordtel im Januar zehn Tage lang eine Störung. Eine "
     "Entschuldigung gab es nie, nur eine Gutschrift über fünf Euro."),
    (116, 96, "Henna Virtanen", "fi", None,
     "Sama juttu Nordtelin kanssa Turussa. Jonotin asiakaspalvelussa puolitoista tuntia, "
     "eikä kukaan pyytänyt anteeksi."),
    (117, 98, "Karina M", "da", None,
     "Jeg har lige ringet igen. 68 minutter i kø, og så fik jeg at vide, at sagen var "
     "lukket, fordi de ikke kunne træffe mig. Jeg er målløs."),
    (118, 100, "Mikkel", "da", 117,
     "Lukket?! Det er jo helt vildt. Send det endelig videre til Forbrugerrådet."),
    (119, 102, "Bente Ravn", "da", None,
     "Jeg er selv Nordtel-kunde og har aldrig haft problemer, men det her lyder helt "
     "uacceptabelt. Håber, I får det løst."),
    (120, 104, "Ole", "da", None,
     "Nordtels aktie faldt i øvrigt tre procent i fredags. Måske de skulle bruge pengene "
     "på teknikere i stedet for reklamer."),
    (121, 106, "Jonas Riis", "da", None,
     "Opdatering: Jeg har nu sendt en skriftlig klage, og opslaget er delt over 4.000 "
     "gange. Stadig ingen undskyldning."),
    (122, 108, "Sofie Andersen", "da", 121, "Godt gået. Vi er mange, der følger med."),
    (123, 110, "anna_k", "en", 121,
     "Good luck, Jonas. Keep a log of every call with date and waiting time, it matters "
     "later."),
    (124, 112, "Nordtel Kundeservice", "da", 121,
     "Hej Jonas. Vi har nu kontaktet dig direkte, og en tekniker kommer i morgen mellem kl. "
     "8 og 12. Vi beklager virkelig de lange ventetider og den manglende opfølgning. "
     "/Henrik, Nordtel"),
    (125, 115, "Peter Holm", "da", 124,
     "Så der skal 4.000 delinger til, før Nordtel sender en tekniker. Godt at vide."),
]  # fmt: skip

_ROUTER_POST = [
    "Jeg har skældt ud over vores wifi i årevis, så det er kun fair, at jeg også skriver, "
    "når noget virker. I sidste uge fik vi en ny router fra Nordtel, og for første gang "
    "kan vi se fjernsyn i kælderen uden at billedet fryser.",
    "Jeg ringede en tirsdag formiddag, ventede fire minutter, og en medarbejder ved navn "
    "Sara kunne se, at vores gamle boks var af en ældre model. Hun sendte en ny uden "
    "beregning, og den lå i postkassen dagen efter. Opsætningen tog ti minutter med "
    "vejledningen, der fulgte med.",
    "Hastigheden er den samme som før på papiret, men dækningen i huset er en helt anden. "
    "Så tak til Nordtel for en gangs skyld. Det skal også siges.",
]

_TELEBORG_POST = [
    "Teleborg er begyndt at grave i vores gade. Ifølge brevet, vi fik i postkassen, "
    "kommer der fiber til hele kvarteret inden sommerferien, og tilslutningen er gratis, "
    "hvis man bestiller inden udgangen af april.",
    "Det er jo godt nyt for et område, hvor de fleste stadig sidder på gamle "
    "kobberforbindelser. Nordtel har i øvrigt annonceret noget lignende for nabobyen, men "
    "der er ikke sket noget endnu, så vidt jeg kan se.",
    "Jeg har spurgt Teleborg, om priserne bliver de samme som i byen. Svaret var et "
    "forsigtigt »det forventer vi«. Vi får se. Indtil videre er det mest "
    "afspærringsbånd og mudder på fortovet.",
]

_BREAD_POST = [
    "Tredje forsøg med surdej, og denne gang lykkedes det. Hemmeligheden var tilsyneladende "
    "at lade dejen hæve i køleskabet natten over i stedet for på køkkenbordet.",
    "Opskriften fandt jeg i et gammelt nummer af lokalavisen Nordtelegrafen, som min "
    "svigermor havde gemt. 500 gram hvedemel, 100 gram fuldkorn, 380 gram vand, 100 gram "
    "surdej og 12 gram salt. Ikke mere end det.",
    "Skorpen blev sprød, krummen luftig, og børnene spiste halvdelen, før den var kølet "
    "af. Næste gang prøver jeg med rug.",
]

_BILL_POST = [
    "Jeg har modtaget en regning fra Nordtel på 2.814 kroner for et mobilabonnement, der "
    "koster 149 kroner om måneden. Det viser sig, at jeg har »ringet til udlandet« i 41 "
    "timer i januar. Jeg har ikke været uden for landets grænser siden 2024.",
    "Nordtels kundeservice var meget forstående og forklarede, at systemet nogle gange "
    "registrerer opkald forkert, og at beløbet nok skulle blive krediteret. Det skete "
    "ikke. I stedet kom der en rykker med et gebyr på 100 kroner.",
    "Så nu er jeg altså en Nordtel-kunde med restance. Et lille tip til andre: tjek jeres "
    "regninger linje for linje. Det er åbenbart ikke noget, man kan overlade til "
    "selskabet selv.",
]

# (id, minutes after the post, author, lang, parent id, text)
_SMALL_COMMENTS: dict[str, list[tuple[int, int, str, str, int | None, str]]] = {
    "ny-router-endelig-wifi-i-kaelderen": [
        (201, 95, "Camilla", "da", None, "Lyder godt! Hvilken model fik I?"),
        (202, 140, "Jonas Riis", "da", 201,
         "Den hedder NT-Hub 6. Den kom med posten dagen efter, at jeg havde ringet."),
        (203, 600, "Ingrid Solberg", "nb", None,
         "Fint å høre at Nordtel kan levere også. Ruteren vår fra dem har gått uten "
         "problemer i to år."),
    ],
    "teleborg-graver-fiber-ned": [
        (301, 130, "Hans Erik", "da", None,
         "Teleborg lovede også fiber hos min bror i Ribe. Det tog halvandet år."),
        (302, 400, "Lone", "da", None, "Endelig sker der noget herude!"),
    ],
    "regningen-der-ikke-ville-doe": [
        (501, 45, "Sofie Andersen", "da", None,
         "41 timer! Så har du da i det mindste fået snakket ud med nogen."),
        (502, 80, "Morten", "da", None,
         "Samme fejl hos min mor. Nordtel krediterede det først, da hun truede med at "
         "opsige."),
        (503, 95, "Jonas Riis", "da", 502,
         "Det er åbenbart det eneste sprog, de forstår. Tak for tippet."),
        (504, 300, "Kevin", "en", None,
         "Had the same thing with roaming charges last year, different company though."),
    ],
}  # fmt: skip


def _comments(
    rows: list[tuple[int, int, str, str, int | None, str]], start: datetime
) -> list[Comment]:
    return [
        Comment(
            id=cid,
            author=author,
            text=text,
            published=start + timedelta(minutes=minutes),
            lang=lang,
            parent=parent,
            brands=("Nordtel",) if lang == "fi" and "Nordtelin" in text else None,
        )
        for cid, minutes, author, lang, parent, text in rows
    ]


def _blog(clock: _Clock) -> list[BlogPost]:
    posts = [
        ("ny-router-endelig-wifi-i-kaelderen", 1041, "Ny router fra Nordtel: endelig wifi "
         "i kælderen", "Teknik", _ROUTER_POST, clock.at(1, 12, 19, 10)),
        ("teleborg-graver-fiber-ned", 1057, "Teleborg graver fiber ned i vores gade",
         "Nabolaget", _TELEBORG_POST, clock.at(2, 18, 7, 45)),
        ("surdej-tredje-forsoeg", 1063, "Surdej, tredje forsøg", "Køkken", _BREAD_POST,
         clock.at(2, 22, 10, 30)),
        ("regningen-der-ikke-ville-doe", 1070, "Regningen, der ikke ville dø", "Penge",
         _BILL_POST, clock.at(2, 26, 20, 5)),
        (ANGRY_SLUG, 1082, "Tre uger uden internet – og ikke én undskyldning fra Nordtel",
         "Teknik", _ANGRY_POST, clock.at(3, 1, 18, 40)),
    ]  # fmt: skip
    out = []
    for slug, wp_id, title, category, paragraphs, published in posts:
        rows = _ANGRY_COMMENTS if slug == ANGRY_SLUG else _SMALL_COMMENTS.get(slug, [])
        out.append(
            BlogPost(
                slug=slug,
                wp_id=wp_id,
                title=title,
                author="Jonas Riis",
                lang="da",
                category=category,
                paragraphs=list(paragraphs),
                published=published,
                modified=published,
                comments=_comments(rows, published),
            )
        )
    return out


# --- the Swedish blog (Atom) ---------------------------------------------------------------


def _sv_blog(clock: _Clock) -> list[Article]:
    a = Article
    return [
        a("vandring-i-jamtland", "Tre dagar i fjällen", "Lisa Berg", "sv", (
            "Vi gick från Storulvån till Sylarna och tillbaka i ett väder som växlade mellan "
            "strålande sol och snöstorm inom samma timme.",
            "Det bästa med turen var tystnaden. Det sämsta var att jag glömde solkrämen "
            "första dagen och fick betala för det resten av veckan.",
            "Nästa år vill vi pröva Kungsleden norrifrån. Tips tas tacksamt emot.",
        ), clock.at(1, 30, 16, 0)),
        a("paketet-som-forsvann", "Paketet som försvann", "Lisa Berg", "sv", (
            "För tre veckor sedan beställde jag en ny router från Nordtel. Enligt "
            "spårningen levererades den den 4 februari klockan 11.02. Till vem vet ingen.",
            "Budfirman säger att det är avsändarens ansvar. Nordtel säger att det är "
            "budfirmans ansvar. Under tiden sitter jag med en router som blinkar rött och "
            "ett abonnemang som jag betalar för varje månad.",
            "Jag har mejlat nordtel.se två gånger och fått samma automatiska svar båda "
            "gångerna. Om någon vet hur man når en människa där, hör av er.",
        ), clock.at(2, 20, 21, 15)),
        a("en-timme-i-telefonko", "En timme och tolv minuter i telefonkö", "Lisa Berg",
          "sv", (
            "Jag gav upp mejlen och ringde Nordtels kundtjänst i stället. Köplats 38. "
            "Musiken var samma tolv sekunder om och om igen.",
            "Efter en timme och tolv minuter svarade en trevlig kille som lovade att skicka "
            "en ny router. Han kunde inte se något om det försvunna paketet, men han "
            "trodde på mig. Det är väl något.",
            "Så tack för det, men en timme och tolv minuter? På en tisdag förmiddag? Hur "
            "ser det ut en måndag?",
        ), clock.at(2, 27, 12, 40)),
        a("teleborg-hojer-priserna", "Teleborg höjer priserna igen", "Lisa Berg", "sv", (
            "Teleborg meddelar att alla bredbandsabonnemang blir 29 kronor dyrare i "
            "månaden från och med maj. Motiveringen är ökade energikostnader.",
            "Det är andra höjningen på ett år. Den som vill säga upp sitt abonnemang har "
            "rätt att göra det innan höjningen börjar gälla.",
        ), clock.at(3, 2, 8, 30)),
    ]  # fmt: skip


# --- news (RSS and JSON Feed) ------------------------------------------------------------

DUP_NEWS_KEY = "nordtel-record-quarter"


def _news_rss(clock: _Clock) -> list[Article]:
    a = Article
    return [
        a("nordtel-startet-5g-in-schleswig-holstein", "Nordtel startet 5G in "
          "Schleswig-Holstein", "Redaktion", "de", (
            "Der skandinavische Anbieter Nordtel hat sein 5G-Netz auf Flensburg und Kiel "
            "ausgeweitet. Bis Ende des Jahres sollen weitere zwanzig Gemeinden folgen.",
            "Verbraucherschützer weisen darauf hin, dass ältere Verträge nicht automatisch "
            "umgestellt werden.",
        ), clock.at(2, 12, 9, 0)),
        a("nordtel-laajentaa-suomeen", "Nordtel laajentaa Suomeen", "Toimitus", "fi", (
            "Pohjoismainen teleyhtiö Nordtel aloittaa kuluttajaliittymien myynnin Suomessa "
            "huhtikuussa.",
            "Nordtelin mukaan ensimmäiset kuitukohteet ovat Turussa ja Tampereella.",
        ), clock.at(2, 16, 7, 30), ("Nordtel",)),
        a("nordtel-haever-priserne", "Nordtel hæver priserne på mobilabonnementer",
          "Redaktionen", "da", (
            "Fra 1. april stiger prisen på Nordtels mobilabonnementer med mellem 10 og 20 "
            "kroner om måneden. Selskabet henviser til investeringer i netværket.",
            "Kunder, der ikke ønsker at acceptere prisstigningen, kan opsige "
            "abonnementet uden gebyr inden for fire uger.",
        ), clock.at(2, 24, 6, 0)),
        a("teleborg-koper-fiberbolag", "Teleborg köper regionalt fiberbolag", "Redaktionen",
          "sv", (
            "Teleborg förvärvar ett mindre fiberbolag i Dalarna med omkring 30 000 kunder. "
            "Köpeskillingen uppges inte.",
            "Affären ska godkännas av Konkurrensverket.",
        ), clock.at(2, 25, 10, 15)),
        a("nordtel-nettet-nede-i-oslo", "Nordtel-nettet nede i Oslo i flere timer",
          "Redaksjonen", "nb", (
            "Tusenvis av Nordtel-kunder i Oslo og Bærum var uten mobildekning tirsdag "
            "ettermiddag. Feilen skyldtes ifølge selskapet en programvareoppdatering.",
            "Flere kunder klaget på sosiale medier over at de ikke fikk informasjon om når "
            "nettet ville være tilbake.",
        ), clock.at(2, 28, 15, 20)),
        a(DUP_NEWS_KEY, "Nordtel reports record quarter as complaints climb", "Newsdesk",
          "en", (
            "Nordtel posted its strongest quarterly revenue to date, driven by fibre "
            "subscriptions in Denmark and Sweden.",
            "At the same time, the number of complaints filed with Nordic consumer "
            "authorities about the operator rose by almost a third, most of them about "
            "waiting times and billing.",
        ), clock.at(3, 2, 6, 45)),
        a("mastelov-vedtaget", "Ny lov om mobilmaster vedtaget", "Redaktionen", "da", (
            "Folketinget har vedtaget en lov, der skal gøre det hurtigere at få tilladelse "
            "til nye mobilmaster i landdistrikterne.",
            "Kommunerne får fremover otte uger til at behandle en ansøgning.",
        ), clock.at(3, 3, 11, 0)),
    ]  # fmt: skip


def _news_json(clock: _Clock, rss: list[Article]) -> list[Article]:
    a = Article
    dup = next(item for item in rss if item.key == DUP_NEWS_KEY)
    return [
        dup,
        a("teleborg-launches-esim-in-sweden", "Teleborg launches eSIM for all Swedish "
          "customers", "Newsdesk", "en", (
            "Teleborg customers in Sweden can now switch to an eSIM in the operator's app "
            "without visiting a shop.",
        ), clock.at(3, 1, 9, 10)),
        a("guide-klag-over-dit-teleselskab", "Guide: Sådan klager du over dit teleselskab",
          "Redaktionen", "da", (
            "Start med at klage skriftligt til selskabet og gem kvitteringen.",
            "Får du ikke et svar inden for fire uger, kan du gå videre til "
            "klagenævnet. Det koster et mindre gebyr, som du får tilbage, hvis du får ret.",
        ), clock.at(2, 21, 8, 0)),
    ]  # fmt: skip


# --- plain HTML pages (the Google Alerts targets) ----------------------------------------


def _pages(clock: _Clock) -> list[Article]:
    a = Article
    return [
        a("forbrugertest-ventetid", "Test: Så længe venter du hos teleselskaberne",
          "Forbrugerbladet", "da", (
            "Vi har ringet til fem teleselskabers kundeservice ti gange hver, på "
            "forskellige tidspunkter af døgnet, og målt, hvor længe der gik, før et "
            "menneske tog telefonen.",
            "Nordtels kundeservice klarede sig dårligst med en gennemsnitlig ventetid på "
            "47 minutter. To gange blev vi afbrudt uden at komme igennem. Teleborg lå i "
            "den anden ende med tolv minutter i gennemsnit.",
            "Når vi først kom igennem, var medarbejderne hos alle selskaber venlige og "
            "kompetente. Problemet er at nå så langt.",
        ), clock.at(2, 23, 6, 0)),
        a("nordtel-router-recall", "Nordtel recalls batch of home routers over overheating",
          "Tech Nordic", "en", (
            "Nordtel is recalling around 12,000 routers of one model after reports that "
            "the units can overheat when placed in enclosed cabinets.",
            "Affected customers will be contacted by text message and sent a replacement "
            "free of charge. The company says no injuries have been reported.",
        ), clock.at(2, 25, 13, 30)),
        a("nordtel-sponsorerer-haandbold", "Nordtel bliver ny hovedsponsor for "
          "ungdomshåndbold", "Sportsnyt", "da", (
            "Nordtel har skrevet under på en treårig aftale som hovedsponsor for "
            "ungdomsholdene i otte jyske håndboldklubber.",
            "»Det er et fantastisk løft for klubberne,« siger formanden for en af dem. "
            "Pengene går til trænere, udstyr og kørsel til stævner.",
        ), clock.at(2, 27, 9, 15)),
        a("sammenligning-mobilabonnement", "Slik er Nordtel og Teleborg sammenlignet",
          "Forbrukertest", "nb", (
            "Vi har sammenlignet de billigste mobilabonnementene med minst 20 GB data hos "
            "Nordtel og Teleborg.",
            "Teleborg er litt billigere det første året, men Nordtel har bedre dekning i "
            "Nord-Norge. Begge selskapene får middels karakter for kundeservice.",
        ), clock.at(3, 2, 14, 0)),
    ]  # fmt: skip


# --- the Discourse forum (Nordtel's own community) ----------------------------------------


def _topic(tid: int, slug: str, title: str, start: datetime, rows: list[tuple]) -> Topic:
    posts = tuple(
        ForumPost(
            number=i + 1,
            username=user,
            text=text,
            published=start + timedelta(minutes=minutes),
            lang=lang,
            reply_to=reply_to,
        )
        for i, (minutes, user, lang, reply_to, text) in enumerate(rows)
    )
    return Topic(id=tid, slug=slug, title=title, posts=posts)


_ROUTER_TOPIC = [
    (0, "jens_p", "da", None,
     "Efter opdateringen i weekenden genstarter min router cirka hver halve time. Lyset "
     "blinker orange, og så er forbindelsen væk i to minutter. Er jeg den eneste?"),
    (22, "mariah", "da", None, "Samme problem her siden tirsdag. Meget irriterende."),
    (35, "kasper_h", "da", 1,
     "Har du prøvet at nulstille den helt? Hold knappen inde i 30 sekunder."),
    (41, "jens_p", "da", 3, "Ja, to gange. Det hjælper i en time, så starter det igen."),
    (58, "Nordtel_Mette", "da", None,
     "Hej alle. Tak fordi I melder det. Vi kan se, at en fejl i firmware 6.2 rammer "
     "nogle routere, og vores teknikere arbejder på en rettelse. Jeg opdaterer tråden, "
     "så snart jeg ved mere. /Mette, Nordtel Community"),
    (75, "mariah", "da", 5, "Tak for svar. Ved I, hvornår rettelsen kommer?"),
    (130, "bo_elektriker", "da", None,
     "Jeg har haft det samme, og det er ret træls, når man arbejder hjemmefra. Tre "
     "afbrudte videomøder i dag."),
    (190, "sigrid_n", "nb", None,
     "Samme feil hos oss i Trondheim. Ruteren starter på nytt hele tiden."),
    (260, "Nordtel_Mette", "da", 6,
     "Rettelsen (firmware 6.2.1) sendes ud i nat. Routeren opdaterer sig selv, så I "
     "behøver ikke gøre noget. Undskyld besværet."),
    (900, "jens_p", "da", 9, "Opdateret i nat, og den har kørt stabilt hele formiddagen."),
    (960, "kasper_h", "da", None, "Fint at det blev løst så hurtigt. Godt arbejde."),
]  # fmt: skip

_PIN_TOPIC = [
    (0, "gitte49", "da", None, "Hvordan skifter jeg PIN-koden på mit SIM-kort? Jeg har "
     "en ældre Android-telefon."),
    (14, "Nordtel_Mette", "da", 1, "Hej Gitte. Gå til Indstillinger, Sikkerhed og "
     "SIM-kortlås. Der kan du vælge en ny kode. Du skal kende den gamle først."),
    (30, "gitte49", "da", 2, "Det virkede. Tusind tak!"),
]  # fmt: skip

_INVOICE_TOPIC = [
    (0, "johan_s", "sv", None,
     "Jag har blivit dubbeldebiterad för februari. Två dragningar på samma belopp samma "
     "dag. Hur får jag tillbaka pengarna?"),
    (40, "emma_l", "sv", 1, "Hände mig också i december. Det tog tre veckor att få "
     "tillbaka."),
    (65, "Nordtel_Oskar", "sv", 1,
     "Hej Johan! Skicka ett privat meddelande med ditt kundnummer så ordnar jag en "
     "återbetalning. Vi ber om ursäkt för strulet. /Oskar, Nordtel"),
    (300, "johan_s", "sv", 3, "Pengarna är tillbaka. Tack Oskar."),
]  # fmt: skip

_CHAT_LINES = [
    "Tråd til alt det, der ikke handler om telefoner. Hvad hører I i bilen for tiden?",
    "En podcast om vikingetiden. Den er overraskende spændende.",
    "Gamle Kim Larsen-plader. Altid.",
    "Lydbøger fra biblioteket. Lige nu en krimi, der foregår på Bornholm.",
    "Radioavisen og så ellers stilhed.",
    "Jazz, når børnene ikke er med. Børnesange, når de er.",
    "En svensk podcast om historiske mord. Lidt makaber, men god.",
    "Musik fra mit eget bryllup. Min kone synes, det er mærkeligt.",
    "Jeg lytter til engelsk fodbold-radio, selvom jeg ikke forstår reglerne helt.",
    "Klassisk. Det beroliger mig i myldretiden.",
    "Ingenting. Jeg cykler.",
    "Heavy metal fra halvfemserne, skruet helt op.",
    "En norsk podcast om friluftsliv. Jeg har aldrig været på fjeldet.",
    "Nyheder på tysk, for at vedligeholde sproget.",
    "Min datters playliste. Jeg har ikke noget valg.",
    "Sportskanalen, især om mandagen.",
    "Lydbøger om havearbejde. Ja, det findes.",
    "Hip hop fra Aarhus, det er det bedste der findes.",
    "Morgenradio med de to værter, der altid griner af hinanden.",
    "Meditationsøvelser. Måske ikke ideelt i trafikken.",
    "Sprogkursus i italiensk. Jeg kan nu bestille kaffe.",
    "Trafikradioen, så jeg ved, hvor køerne er.",
    "Jeg synger selv. Højt.",
]


def _chat_topic(start: datetime) -> Topic:
    rows = [(i * 45, f"medlem{i % 7 + 1}", "da", None, line) for i, line in
            enumerate(_CHAT_LINES)]  # fmt: skip
    return _topic(104, "hvad-lytter-i-til-i-bilen", "Off topic: hvad lytter I til i bilen?",
                  start, rows)  # fmt: skip


def _topics(clock: _Clock) -> list[Topic]:
    return [
        _topic(101, "router-genstarter-hele-tiden", "Router genstarter hele tiden efter "
               "opdatering", clock.at(2, 14, 9, 5), _ROUTER_TOPIC),
        _topic(102, "skift-pin-kode-paa-sim-kort", "Hvordan skifter jeg PIN-koden på "
               "SIM-kortet?", clock.at(2, 3, 13, 0), _PIN_TOPIC),
        _topic(103, "dubbeldebiterad-for-februari", "Dubbeldebiterad för februari",
               clock.at(2, 27, 18, 30), _INVOICE_TOPIC),
        _chat_topic(clock.at(1, 20, 17, 0)),
    ]  # fmt: skip


# --- Reddit ------------------------------------------------------------------------------


def _reddit(clock: _Clock) -> dict[str, list[Article]]:
    a = Article
    denmark = [
        a("1b7x2k", "Nordtel nede i Aarhus igen?", "aarhus_andreas", "da", (
            "Er det kun mig, eller har Nordtel været nede hele eftermiddagen i Aarhus C? "
            "Deres driftsside siger, at alt kører. Det gør det ikke.",
        ), clock.at(3, 1, 16, 5), slug="nordtel_nede_i_aarhus_igen"),
        a("1b7y9q", "Teleborg eller Nordtel til en studerende?", "kbh_student", "da", (
            "Jeg flytter hjemmefra og skal have et billigt abonnement. Teleborg er lidt "
            "billigere, men min far siger, at Nordtel har bedre dækning. Erfaringer?",
        ), clock.at(3, 1, 17, 40), slug="teleborg_eller_nordtel_til_en_studerende"),
        a("1b80aa", "Best place to see the northern lights in Jutland?", "wanderlust_dk",
          "en", (
            "Visiting in March with my partner. We have a car. Is Skagen worth the drive "
            "or is anywhere dark enough?",
        ), clock.at(3, 1, 19, 0), slug="best_place_to_see_the_northern_lights_in_jutland"),
        a("1b81fm", "PSA: falske sms'er i Nordtels navn", "mod_tips", "da", (
            "Der går igen sms'er rundt, der påstår at være fra Nordtel og beder dig betale "
            "en ubetalt regning via et link. Klik ikke. Nordtel sender aldrig "
            "betalingslinks på sms.",
        ), clock.at(3, 1, 20, 15), slug="psa_falske_smser_i_nordtels_navn"),
        a("1b83rt", "Rant: 2 timer i kø hos #nordtel", "traet_bruger", "da", (
            "To timer. TO TIMER i telefonkø for at få at vide, at de ikke kan se min "
            "ordre. Jeg har ordrebekræftelsen lige her. Hvem designer de her systemer?",
            "Og nej, chatten virker heller ikke. Den sender mig tilbage til telefonkøen.",
        ), clock.at(3, 1, 21, 30), slug="rant_2_timer_i_ko_hos_nordtel"),
        a("1b85zz", "Min cykel blev stjålet foran Nørreport", "cykellos", "da", (
            "Låst med to låse, stjålet på under en time. Er der nogen, der har fået en "
            "cykel tilbage via politiet?",
        ), clock.at(3, 1, 22, 45), slug="min_cykel_blev_stjalet_foran_norreport"),
    ]  # fmt: skip
    sweden = [
        a("1b79hh", "Någon mer som har problem med Nordtels fiber i Malmö?", "skansk_it",
          "sv", ("Nere sedan i morse. Kundtjänsten har 45 minuters kö.",),
          clock.at(3, 1, 10, 0), slug="nagon_mer_som_har_problem_med_nordtels_fiber"),
        a("1b7caa", "Teleborg höjer priset igen", "prismedveten", "sv", (
            "29 kronor mer i månaden från maj. Dags att byta?",
        ), clock.at(3, 1, 12, 30), slug="teleborg_hojer_priset_igen"),
        a("1b7fqq", "Bästa kanelbullen i Stockholm?", "fikafan", "sv", (
            "Jag har testat tolv bagerier. Vill ha fler tips innan jag sammanställer.",
        ), clock.at(3, 1, 14, 0), slug="basta_kanelbullen_i_stockholm"),
    ]  # fmt: skip
    return {"Denmark": denmark, "sweden": sweden}


def _private(clock: _Clock) -> list[Article]:
    return [
        Article("intern-pressemeddelelse", "Udkast: pressemeddelelse om nedbrud", "intern",
                "da", ("Må ikke offentliggøres. Nordtel beklager nedbruddet.",),
                clock.at(3, 2, 7, 0)),
    ]  # fmt: skip


def build_site(seed: int = 0) -> Site:
    """The whole simulated web, fresh and deterministic for ``seed``."""
    clock = _Clock(seed)
    rss = _news_rss(clock)
    return Site(
        blog=_blog(clock),
        sv_blog=_sv_blog(clock),
        news_rss=rss,
        news_json=_news_json(clock, rss),
        dup_news_key=DUP_NEWS_KEY,
        pages=_pages(clock),
        topics=_topics(clock),
        reddit=_reddit(clock),
        private=_private(clock),
    )
