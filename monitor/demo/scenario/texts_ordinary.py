"""An ordinary day around Nordtel (all texts written for the demo): questions, praise,
neutral news, the odd everyday complaint, the company's own answers on its forum, and the
neutral news reports once the outage starts.

Each entry is ``(title, text)``; texts name Nordtel where the source needs a mention to be
picked up (news, Reddit). The ordinary entries were checked against the default model:
it reads them as what they are (tests/monitor/demo/test_demo.py keeps a sample of that honest).
"""

from __future__ import annotations

Entry = tuple[str, str]

QUESTIONS: dict[str, tuple[Entry, ...]] = {
    "da": (
        ("Router til et stort hus", "Vi har Nordtel fiber og er glade for det. Hvilken "
         "router bruger I til et stort hus? Vi overvejer en mesh-løsning."),
        ("5G i vores by", "Nordtel har lige fået 5G her i {city}. Nogen der har prøvet det? "
         "Det skulle være meget hurtigere."),
        ("TV-boks fra Nordtel", "Vi har fået Nordtels nye tv-boks og er glade for den. "
         "Kan man optage to kanaler på samme tid?"),
        ("Skifter til Nordtel", "Jeg skifter til Nordtel i næste uge og glæder mig. "
         "Klarer de selv at flytte mit nummer?"),
        ("Fiber i sommerhuset", "Vi overvejer Nordtel fiber i sommerhuset i Rørvig. Har "
         "nogen erfaringer med dækningen deroppe? Den ser god ud på kortet."),
        ("Smartwatch og eSIM", "Jeg har lige fået et smartwatch i fødselsdagsgave. Kan man "
         "tilføje et eSIM til uret i Nordtel-appen?"),
    ),
    "sv": (
        ("Router till stort hus", "Vi har Nordtels fiber och är nöjda. Vilken router "
         "rekommenderar ni för ett stort hus?"),
        ("5G i fjällen", "Nordtel har fått 5G i Åre enligt kartan. Någon som testat det "
         "på sportlovet?"),
        ("Fiber i sommarstugan", "Vi funderar på Nordtels fiber till sommarstugan på "
         "Österlen. Någon som har erfarenhet?"),
    ),
    "nb": (
        ("Ruter til stort hus", "Vi har fiber fra Nordtel og er fornøyde. Hvilken ruter "
         "anbefaler dere til et stort hus?"),
        ("Hytta i Hemsedal", "Nordtel har fått bedre dekning i Hemsedal i år. Noen som har "
         "prøvd videomøter fra hytta?"),
    ),
    "en": (
        ("Router for a big house", "We have Nordtel fibre and are happy with it. Which "
         "router do you recommend for a big house?"),
        ("Moving to Copenhagen", "Moving to Copenhagen in May and planning to sign up "
         "with Nordtel. Any tips for a newcomer?"),
    ),
}  # fmt: skip

PRAISE: dict[str, tuple[Entry, ...]] = {
    "da": (
        ("Stor ros til teknikeren", "Skiftede til Nordtel fiber i {city} i sidste uge. Teknikeren "
         "kom til tiden og var færdig på en time. Stor ros."),
        ("Appen er virkelig god", "Nordtels nye app er virkelig god. Jeg kan se mit "
         "forbrug med ét tryk."),
        ("Tak for hjælpen", "Tak til Nordtel for hurtig og venlig hjælp med min mors nye "
         "telefon."),
        ("Fem gode år", "Vi har haft Nordtel i fem år og er rigtig glade for det."),
        ("Super service", "Fik ny telefon i Nordtels butik i {city} i dag, og de flyttede "
         "alt for mig. Super service."),
        ("Smart tip", "Tip: I Nordtel-appen kan man slå roaming fra med ét tryk. Smart "
         "før ferien."),
    ),
    "sv": (
        ("Snabb hjälp", "Kundtjänsten på Nordtel löste mitt problem på fem minuter i dag. "
         "Snyggt jobbat."),
        ("Nöjd med fibern", "Har haft Nordtels fiber i {city} i ett år nu och inte haft ett enda "
         "avbrott. Rekommenderas."),
    ),
    "nb": (
        ("Fornøyd", "Nordtel fikk fiberen inn i {city} på to dager. Veldig fornøyd med "
         "både pris og service."),
    ),
    "en": (
        ("Shout-out", "Shout-out to Nordtel support, they sorted my roaming issue in "
         "minutes."),
        ("The new Nordtel app", "The new Nordtel app is great, checking my data use is "
         "finally easy."),
    ),
}  # fmt: skip

NEWS: dict[str, tuple[Entry, ...]] = {
    "da": (
        ("Nordtel udvider fibernettet i Odense", "Nordtel går i gang med at grave fiber ned "
         "i tre bydele i Odense. Arbejdet ventes færdigt til efteråret."),
        ("Ny mastaftale i Vestjylland", "Nordtel og Teleborg deler fremover master i "
         "Vestjylland. Aftalen skal give bedre dækning i landområderne."),
        ("Nordtel åbner butik i Aalborg", "Nordtel åbner en ny butik på Bispensgade i "
         "Aalborg. Butikken får også et værksted til reparationer."),
        ("Nordtel ansætter i Esbjerg", "Nordtel søger 40 nye medarbejdere til "
         "kundeservice i Esbjerg."),
        ("Gratis wifi på Roskilde", "Nordtel sponsorerer i år Roskilde Festivals gratis "
         "wifi på campingområdet."),
        ("Nordtels app får pris", "Nordtels app kåret som årets bedste kundeservice-app."),
        ("Åbent hus i Vejle", "Nordtel holder åbent hus i butikken i Vejle på lørdag med "
         "kaffe og rådgivning."),
    ),
    "sv": (
        ("Nordtel bygger ut 5G i Skåne", "Nordtel utökar 5G-nätet till ytterligare tolv "
         "orter i Skåne under våren."),
        ("Kurs för seniorer", "Nordtel arrangerar gratis kurs i mobilsäkerhet för "
         "seniorer i Lund."),
    ),
    "nb": (
        ("Nordtel åpner kundesenter i Bergen", "Nordtel åpner et nytt kundesenter i Bergen "
         "og ansetter 40 personer."),
        ("Kurs for eldre", "Nordtel tilbyr nå gratis kurs i mobilbruk for eldre i "
         "Drammen."),
    ),
    "en": (
        ("Nordtel reports steady subscriber growth", "Nordtel added 28,000 mobile "
         "subscribers in the Nordics last quarter, the operator said."),
        ("Nordtel hiring engineers", "Nordtel is hiring 40 engineers for its new network "
         "centre in Aarhus."),
    ),
}  # fmt: skip

GRUMBLES: dict[str, tuple[Entry, ...]] = {
    "da": (
        ("Regning for returneret router", "Nordtel har igen sendt mig en regning for en "
         "router, jeg returnerede i januar. Tredje gang jeg skal ringe om det."),
        ("Lang kø", "45 minutter i kø hos Nordtel for at ændre en adresse. Det burde kunne "
         "klares på nettet."),
    ),
    "sv": (
        ("Fel på fakturan", "Nordtel har fakturerat mig för ett abonnemang jag sa upp i "
         "december. Ingen svarar på mejlen."),
    ),
    "nb": (
        ("Treg hastighet", "Betaler for 500 Mbit hos Nordtel, men får 80 om kvelden. "
         "Kundeservice sier bare at jeg skal starte ruteren på nytt."),
    ),
    "en": (
        ("Slow refund", "Still waiting for Nordtel to refund the deposit on a router I "
         "returned six weeks ago."),
    ),
}  # fmt: skip

# Nordtel's own people on their forum, once the outage and the double charge are known.
STAFF: dict[str, tuple[tuple[str, str], ...]] = {
    "da": (
        ("Nordtel_Mette", "Hej alle. Vi har en driftsforstyrrelse på mobildata og fiber i "
         "dele af Jylland. Vores teknikere arbejder på sagen, og vi opdaterer her. "
         "/Mette, Nordtel Community"),
        ("Nordtel_Mette", "Opdatering: Nettet er ved at komme tilbage i Trekantområdet. Vi "
         "holder jer orienteret her i tråden. /Mette, Nordtel Community"),
    ),
    "sv": (
        ("Nordtel_Oskar", "Hej! Vi har en störning på mobildata och fiber i Skåne. Våra "
         "tekniker arbetar med saken. /Oskar, Nordtel"),
    ),
    "nb": (
        ("Nordtel_Kari", "Hei! Vi har en feil som rammer mobildata rundt Oslo. Vi jobber "
         "med saken og oppdaterer her. /Kari, Nordtel"),
    ),
}  # fmt: skip

OUTAGE_NEWS: dict[str, tuple[Entry, ...]] = {
    "da": (
        ("Nedbrud hos Nordtel rammer Jylland", "Tusindvis af Nordtel-kunder i Jylland har "
         "siden middag været uden mobildata og internet. Selskabet oplyser, at fejlen "
         "skyldes en opdatering af kernenettet."),
        ("Nordtel: nettet tilbage i store dele af Jylland", "Nordtel oplyser, at mobildata "
         "og fiber igen virker i store dele af Jylland. Selskabet undersøger stadig "
         "årsagen."),
    ),
    "sv": (
        ("Störning hos Nordtel i Skåne", "Många av Nordtels kunder i Skåne har sedan lunch "
         "varit utan mobildata. Bolaget uppger att arbetet med att åtgärda felet pågår."),
    ),
    "nb": (
        ("Teknikere jobber med mobilnettet til Nordtel", "Kunder av Nordtel i "
         "Oslo-området har i dag hatt ustabil mobildata. Selskapet opplyser at teknikere "
         "jobber med saken."),
    ),
    "en": (
        ("Nordtel outage hits Denmark and Sweden", "Nordtel said a faulty update to its "
         "core network caused the outage and that engineers expect to restore service "
         "this evening."),
    ),
}  # fmt: skip

FORUM_REPLIES: dict[str, tuple[str, ...]] = {
    "da": ("Tak for svaret, det hjalp.", "Godt tip, tusind tak!",
           "Vi har haft det i et år, og det fungerer fint.", "Det kan klares i appen, "
           "det tog mig to minutter."),
    "sv": ("Tack, det löste sig!", "Bra tips, tack!", "Funkar fint hos oss."),
    "nb": ("Takk, det hjalp!", "Fungerer fint hos oss."),
    "en": ("Thanks, that worked!", "Works fine for us."),
}  # fmt: skip
