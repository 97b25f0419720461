"""Extract the pages' strings and bring the translation catalogues up to date.

``python -m monitor.web.catalogues`` (``make catalogues``) reads every template with
Jinja2's Babel extractor and the web package's Python modules with Babel's, writes
``locale/messages.pot`` and merges it into each ``locale/<lang>/LC_MESSAGES/messages.po``:
new strings arrive untranslated (and fail ``tests/monitor/web/test_web_i18n.py`` until
someone translates them), vanished ones are dropped, translations are kept.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from alerts.ack import MESSAGES as LINK_VERDICTS
from monitor.detect.explain import WHAT as STORM_KINDS
from monitor.web.i18n import DEFAULT, LOCALE_DIR, LOCALES

__all__ = ["PACKAGE_DIR", "extract", "main", "update"]

PACKAGE_DIR = Path(__file__).parent
METHODS = [
    ("templates/**.html", "jinja2.ext:babel_extract"),
    ("*.py", "python"),
]
OPTIONS = {
    # as context.py builds the environment, so the msgids are the ones pages ask for
    "templates/**.html": {
        "extensions": "jinja2.ext.i18n",
        "trimmed": "true",
        "newstyle_gettext": "true",
        "trim_blocks": "true",
        "lstrip_blocks": "true",
    },
}
# Sentences pages show from below the web package, through ``say()`` in a template.
SHOWN_FROM_BELOW = {
    "alerts/ack.py": LINK_VERDICTS.values(),
    "monitor/detect/explain.py": STORM_KINDS.values(),  # in headlines (format.incident_headline)
}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "say": (2,)}


def _messages(root: Path) -> Iterator[tuple[str, int, str | tuple[str, ...], list[str]]]:
    for filename, lineno, message, comments, _context in extract_from_dir(
        root, METHODS, OPTIONS, keywords=KEYWORDS, strip_comment_tags=True
    ):
        yield filename, lineno, message, comments


def extract(root: Path = PACKAGE_DIR) -> Catalog:
    """Every string the pages show, from the templates and the web package's modules."""
    catalog = Catalog(project="Stormwatch", fuzzy=False)
    for filename, lineno, message, comments in _messages(root):
        catalog.add(message, locations=[(filename, lineno)], auto_comments=comments)
    for filename, sentences in SHOWN_FROM_BELOW.items():
        for sentence in sentences:
            catalog.add(sentence, locations=[(filename, 0)])
    return catalog


def update(root: Path = PACKAGE_DIR, locale_dir: Path = LOCALE_DIR) -> dict[str, int]:
    """Write the template and merge it into every catalogue; returns how many strings each
    language still lacks."""
    template = extract(root)
    locale_dir.mkdir(parents=True, exist_ok=True)
    pot = locale_dir / "messages.pot"
    if pot.exists():  # the same strings keep their date: no diff without a change
        with pot.open("rb") as old:
            before = read_po(old)
        if {m.id for m in before} == {m.id for m in template}:
            template.creation_date = before.creation_date
    with pot.open("wb") as out:
        write_po(out, template, width=100, include_lineno=False)
    missing: dict[str, int] = {}
    for locale in LOCALES:
        if locale == DEFAULT:
            continue  # English is the msgids themselves
        path = locale_dir / locale / "LC_MESSAGES" / "messages.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as po:
                catalog = read_po(po, locale=locale)
        else:
            catalog = Catalog(locale=locale, project="Stormwatch", fuzzy=False)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.obsolete.clear()  # a string the pages no longer show is not kept
        with path.open("wb") as po:
            write_po(po, catalog, width=100, include_lineno=False)
        missing[locale] = len([m for m in catalog if m.id and not all(_forms(m.string))])
    return missing


def _forms(string: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if isinstance(string, tuple | list):
        return tuple(string)
    return (string or "",)


def main() -> int:
    for locale, count in update().items():
        print(f"{locale}: {count} untranslated" if count else f"{locale}: complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
