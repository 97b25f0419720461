"""The languages pages are shown in: which one a request gets, and its gettext catalogue.

The catalogues are ``locale/<lang>/LC_MESSAGES/messages.po`` next to this module, kept in
git as text and compiled in memory on first use (no ``.mo`` file to fall out of step).
A request's language is the user's own setting, else the first of the browser's
``Accept-Language`` we have, else English. ``python -m monitor.web.catalogues`` extracts
the strings and updates the catalogues.
"""

from __future__ import annotations

import functools
from io import BytesIO
from pathlib import Path

from babel import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from monitor.storage.models import LANGUAGES

__all__ = [
    "DEFAULT",
    "LOCALES",
    "LOCALE_DIR",
    "NAMES",
    "N_",
    "negotiate",
    "normalise",
    "parse_accept_language",
    "translations",
]

DEFAULT = "en"
LOCALES = LANGUAGES  # what a user may choose is what there are catalogues for
# Each language by its own name, as a chooser lists them.
NAMES = {
    "en": "English", "da": "Dansk", "sv": "Svenska", "nb": "Norsk bokmål",
    "fi": "Suomi", "de": "Deutsch",
}  # fmt: skip
# Norwegian in any written form reads bokmål here: nynorsk readers read it easily, and
# browsers send ``no`` as often as ``nb``.
ALIASES = {"no": "nb", "nn": "nb"}
LOCALE_DIR = Path(__file__).parent / "locale"
# A header longer than this is somebody's experiment; the first entries decide anyway.
MAX_ACCEPT = 50


def N_(message: str) -> str:
    """Marks ``message`` for the catalogue where it is defined; it is translated where it
    is shown (``_(...)`` in a template)."""
    return message


def normalise(tag: str | None) -> str | None:
    """``da`` for ``da``, ``da-DK`` or ``da_dk``; ``nb`` for ``no``/``nn``; None for a
    language pages are not translated into."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    primary = ALIASES.get(primary, primary)
    return primary if primary in LOCALES else None


def parse_accept_language(header: str | None) -> list[str]:
    """The header's language tags, most wanted first (``q`` order, ties in header order);
    ``q=0`` means "not this one" and a malformed weight counts as 0."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")[:MAX_ACCEPT]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, index, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(chosen: str | None, accept_language: str | None) -> str:
    """The user's setting, else the browser's first language we have, else English."""
    own = normalise(chosen)
    if own:
        return own
    wanted = [normalise(tag) or tag for tag in parse_accept_language(accept_language)]
    found = negotiate_locale(wanted, LOCALES, sep="-", aliases=ALIASES)
    return found if found in LOCALES else DEFAULT


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue for ``locale`` (English and unknown locales: the msgids
    themselves). Compiled once per process from the committed ``.po`` file."""
    if locale == DEFAULT or locale not in LOCALES:
        return NullTranslations()
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain="messages")
