"""What customers write when Nordtel's day goes wrong (all sentences written for the demo).

The fiasco of the demo day: a faulty core-network update takes mobile data and fibre down
in Jutland, Skåne and around Oslo, and the same afternoon a billing run charges March
twice. A complaint is an opener (names Nordtel: what happened) + a detail on the same
theme (outage, billing, or any: queue, chat, no news) + sometimes a closer (no apology,
compensation). Blog comments under the exploding post open with a reaction to the post.

Placeholders: ``{city}``, ``{minutes}``, ``{amount}``.
"""

from __future__ import annotations

CITIES = {
    "da": ("Aarhus", "Odense", "Aalborg", "Vejle", "Esbjerg", "Randers", "Horsens",
           "Kolding", "Silkeborg", "Herning", "Viborg", "Fredericia"),
    "sv": ("Malmö", "Lund", "Helsingborg", "Kristianstad", "Landskrona", "Trelleborg",
           "Ystad", "Eslöv"),
    "nb": ("Oslo", "Drammen", "Lillestrøm", "Asker", "Bærum", "Moss", "Fredrikstad"),
    "en": ("Aarhus", "Malmö", "Oslo", "Odense", "Lund", "Aalborg"),
}  # fmt: skip

# Openers by theme: the outage, the double charge, or both at once.
OPENERS = {
    "da": {
        "outage": (
            "Nordtel er nede igen her i {city}, og ingen gider svare i telefonen.",
            "Nordtel har været nede i {city} i timevis. Det er helt uacceptabelt.",
            "Nordtel har lukket ned for hele {city}, og kundeservice er umulig at få fat i.",
            "Tak for ingenting, Nordtel. Hele huset er offline i {city}.",
            "Nordtel er nede igen her i {city}, både mobildata og fiber.",
            "Hele vejen her i {city} er uden Nordtel-internet, og ingen siger noget.",
            "Jeg er så træt af Nordtel. Mobilen har ikke haft data siden i formiddags.",
        ),
        "billing": (
            "Nordtel har lige trukket {amount} kr. to gange for marts.",
            "Nordtel har hævet {amount} kr. to gange fra min konto i dag.",
            "Dobbelt træk fra Nordtel på {amount} kr., og ingen kan forklare hvorfor.",
            "Tak, Nordtel, for at trække martsregningen to gange.",
        ),
        "both": (
            "Min Nordtel-regning er trukket dobbelt, og nu virker nettet heller ikke.",
            "Nordtel, hvad sker der? Ingen dækning i {city} og dobbelt regning samme dag.",
        ),
    },
    "sv": {
        "outage": (
            "Nordtel ligger nere i {city}, och ingen på kundtjänst svarar.",
            "Inget internet från Nordtel i {city} sedan i förmiddags.",
            "Tack för ingenting, Nordtel. Hela huset är offline.",
            "Nordtel har varit nere i {city} i flera timmar. Helt oacceptabelt.",
            "Nordtel har svikit oss igen: ingen mobildata och ingen fiber i {city}.",
        ),
        "billing": (
            "Nordtel har dragit {amount} kronor två gånger för mars.",
            "Dubbeldebiterad av Nordtel, {amount} kronor två gånger.",
        ),
        "both": (
            "Dubbeldebiterad av Nordtel och utan mobildata, samma dag.",
            "Nordtel har tagit betalt två gånger och nätet är nere.",
        ),
    },
    "nb": {
        "outage": (
            "Nordtel er nede igjen i {city}, både mobil og fiber.",
            "Ikke noe nett fra Nordtel i {city} siden i formiddag.",
            "Takk for ingenting, Nordtel. Hele huset er uten nett.",
            "Nordtel har sviktet oss igjen: ingen mobildata og ingen fiber i {city}.",
        ),
        "billing": (
            "Nordtel har trukket {amount} kroner to ganger for mars.",
            "Dobbelt trekk fra Nordtel, {amount} kroner to ganger.",
        ),
        "both": ("Dobbelt trekk fra Nordtel og ingen mobildata, samme dag.",),
    },
    "en": {
        "outage": (
            "Nordtel has been down in {city} for hours and nobody answers the phone.",
            "No internet from Nordtel in {city} since this morning.",
            "Thanks for nothing, Nordtel. The whole flat is offline.",
            "Nordtel has let us down again: no mobile data and no fibre in {city}.",
        ),
        "billing": (
            "Nordtel just charged me {amount} kr twice for March.",
            "Nordtel took {amount} kr from my account twice today.",
        ),
        "both": ("Double-charged by Nordtel and no mobile data, on the same day.",),
    },
}

# Details by theme; "any" fits every opener.
DETAILS = {
    "da": {
        "any": (
            "Jeg har siddet {minutes} minutter i telefonkø og blev så afbrudt.",
            "Chatten på nordtel.dk sender mig bare rundt i ring.",
            "Ingen sms, ingen mail, ingen besked om hvad der sker.",
            "Telefonkøen siger {minutes} minutter, og det har den sagt i en time.",
            "Jeg har ringet tre gange og fået tre forskellige forklaringer.",
            "De lovede at ringe tilbage inden for en time. Det har de ikke gjort.",
            "Medarbejderen i telefonen sagde bare, at jeg måtte vente som alle andre.",
        ),
        "outage": (
            "Kundeservice påstår, at der ikke er nogen fejl på min adresse. Det er løgn.",
            "Børnene kan ikke lave lektier, og jeg kan ikke ringe til nogen.",
            "Min mor på plejehjemmet kan ikke få fat i os, og det er ikke i orden.",
            "Butikken kan ikke tage imod kort i dag, og det koster os penge.",
        ),
        "billing": (
            "Nu er min konto i minus, og huslejen bliver trukket i morgen.",
            "Jeg betaler {amount} kr. om måneden, og nu skal jeg betale det dobbelte.",
            "Kundeservice siger, at pengene »nok« kommer tilbage i næste måned.",
        ),
    },
    "sv": {
        "any": (
            "Jag har suttit {minutes} minuter i telefonkö och sedan blev samtalet bortkopplat.",
            "Chatten på nordtel.se skickar mig bara runt i cirklar.",
            "Inget sms, inget mejl, ingen information om vad som händer.",
            "De lovade att ringa tillbaka inom en timme. Det har de inte gjort.",
            "Jag har ringt tre gånger och fått tre olika förklaringar.",
            "Personalen i telefonen sa bara att jag fick vänta som alla andra.",
        ),
        "outage": (
            "Kundtjänst påstår att det inte är något fel på min adress. Det är lögn.",
            "Barnen kan inte göra läxorna och jag kan inte ringa någon.",
        ),
        "billing": (
            "Nu är kontot på minus och hyran dras i morgon.",
            "Kundtjänst säger att pengarna »troligen« kommer tillbaka nästa månad.",
        ),
    },
    "nb": {
        "any": (
            "Jeg har sittet {minutes} minutter i telefonkø og ble så koblet av.",
            "Chatten deres sender meg bare rundt i ring.",
            "Ingen sms, ingen e-post, ingen beskjed om hva som skjer.",
            "De lovet å ringe tilbake innen en time. Det har de ikke gjort.",
            "Jeg har ringt tre ganger og fått tre ulike forklaringer.",
        ),
        "outage": ("Ungene får ikke gjort lekser, og jeg får ikke ringt noen.",),
        "billing": (
            "Nå er kontoen i minus, og husleien trekkes i morgen.",
            "Kundeservice sier at pengene »sannsynligvis« kommer tilbake neste måned.",
        ),
    },
    "en": {
        "any": (
            "I waited {minutes} minutes in the phone queue and then got cut off.",
            "The chat bot just sends me round in circles.",
            "No text, no email, no word on what is going on.",
            "They promised a call back within the hour. Nothing.",
            "I have called three times and got three different explanations.",
        ),
        "outage": ("Support claims there is no fault at my address. That is a lie.",),
        "billing": (
            "Now my account is overdrawn and the rent goes out tomorrow.",
            "Support says the money will 'probably' come back next month.",
        ),
    },
}

CLOSERS = {
    "da": (
        "Ingen har sagt undskyld.",
        "Det er en skandale.",
        "Jeg forventer at få pengene tilbage i dag, ikke om en måned.",
        "Det er simpelthen ikke godt nok.",
        "Hvor er undskyldningen?",
        "Jeg har klaget til Forbrugerrådet over dem.",
        "Elleve år som kunde, og sådan bliver man behandlet.",
        "Jeg vil have et nedslag i prisen for i dag.",
        "Pinligt for et teleselskab i 2026. Det er en skandale.",
    ),
    "sv": (
        "Ingen har bett om ursäkt.",
        "Jag byter till Teleborg så fort det går.",
        "Jag vill ha tillbaka pengarna i dag.",
        "Det här är helt oacceptabelt.",
        "Var är ursäkten?",
        "Jag har anmält det till Konsumentverket.",
        "Skäms.",
        "Jag kräver prisavdrag för i dag.",
    ),
    "nb": (
        "Ingen har sagt unnskyld.",
        "Jeg bytter til Teleborg så fort det går.",
        "Jeg vil ha pengene tilbake i dag.",
        "Dette er rett og slett ikke godt nok.",
        "Hvor er unnskyldningen?",
        "Jeg har klaget til Forbrukerrådet.",
        "Jeg krever prisavslag for i dag.",
    ),
    "en": (
        "Nordtel is a disgrace.",
        "I want my money back today, not next month.",
        "This is simply not good enough.",
        "Where is the apology?",
        "I have filed a complaint with the consumer board.",
        "Embarrassing for a phone company in 2026.",
    ),
}

TITLES = {
    "da": (
        "Nordtel nede i {city}?",
        "Dobbelt træk fra Nordtel",
        "Intet net i {city} siden middag",
        "Nordtel trækker marts to gange",
        "Nogen der har fået fat i Nordtel i dag?",
        "Nordtel: nul forbindelse i {city}",
    ),
    "sv": (
        "Nordtel nere i {city}?",
        "Dubbeldebiterad av Nordtel",
        "Inget nät i {city} sedan lunch",
        "Någon som kommit fram till Nordtel i dag?",
    ),
    "nb": (
        "Nordtel nede i {city}?",
        "Dobbelt trekk fra Nordtel",
        "Ingen dekning i {city}",
    ),
    "en": (
        "Nordtel down in {city}?",
        "Double-charged by Nordtel",
        "Nordtel outage and billing mess",
    ),
}

# Under Jonas Riis's blog post: how a comment opens (then a detail and often a closer).
REACTIONS = {
    "da": (
        "Præcis det samme her, Jonas. Det er en skandale.",
        "Du har fuldstændig ret, og jeg er lige så vred.",
        "Tak fordi du skriver det, jeg troede, det kun var mig.",
        "Det er tredje gang i år, Nordtel svigter os.",
        "Min nabo og jeg sidder begge uden net og med dobbelt regning.",
        "Hos os i {city} er det lige så slemt, og kundeservice svarer ikke.",
        "Jeg har lige fået samme dobbelte træk på {amount} kr.",
        "Nordtel burde skamme sig.",
    ),
    "sv": (
        "Exakt samma sak här i {city}, Jonas. Nordtel är en skandal.",
        "Du har helt rätt. Samma skandal på den här sidan sundet.",
        "Tack för att du skriver det. Nordtel har behandlat oss uselt.",
    ),
    "nb": (
        "Nøyaktig det samme her i {city}, og kundeservice svarer ikke.",
        "Du har helt rett, Jonas. Dette er en skandale.",
    ),
    "en": (
        "Exactly the same here, Jonas. Nordtel is a disgrace.",
        "Same in {city}. Absolutely terrible service from Nordtel.",
    ),
}

BLOG_POST_TITLE = "Dobbelt regning og intet net: Nordtel har gjort det igen"
BLOG_POST = """For tre dage siden skrev jeg om tre uger uden internet. I går kom forbindelsen \
endelig tilbage. I dag ved middagstid forsvandt den igen, sammen med mobildata, og en time \
senere kunne jeg se, at Nordtel har trukket martsregningen to gange: 798 kroner i stedet for \
399.

Jeg har ringet til Nordtels kundeservice. Køen var på 95 minutter, og da jeg endelig kom \
igennem, fik jeg at vide, at de »ikke kunne se noget«. Chatten svarer med et link til en \
driftsside, hvor alt er grønt.

Ingen undskyldning. Ingen besked. Ingen plan for, hvornår pengene kommer tilbage. Hvis I \
også sidder uden net eller med dobbelt regning i dag, så skriv det herunder, så Nordtel kan \
se, hvor mange vi er. #nordtel"""

BLOG_POST_SLUG = "dobbelt-regning-og-intet-net"

AUTHORS = {
    "da": ("Marianne", "Kasper", "Lene Bach", "Rasmus T", "Birgitte", "Nikolaj", "Helle S",
           "Frederik", "Camilla J", "Anders P", "Susanne", "Thomas K", "Louise", "Jesper",
           "Maria H", "Simon", "Pia", "Morten R", "Line", "Christian", "Hanne", "Søren",
           "Julie", "Martin", "Tina", "Henrik B", "Rikke", "Mads", "Anne-Mette", "Bo"),
    "sv": ("Erik L", "Sara N", "Johan", "Linnea", "Oskar B", "Maja", "Anders S", "Elin"),
    "nb": ("Ingrid", "Ola", "Kari N", "Håkon", "Silje", "Per Arne"),
    "en": ("anna_k", "Tom W", "Priya", "Mark", "Lucy B"),
}  # fmt: skip
