"""The phrases a lender's catalog and profile show customers, and the ``.po`` files that translate them.

Every phrase gets a gettext context naming where it came from, so two groups may share an English wording
and still be translated differently:

==========================================  ===============================================
TOML entry                                  context
==========================================  ===============================================
``[groups.<code>] label/adverse/...``       ``groups:<code>:<field>``
``[features.<name>.categories] "<raw>"``    ``features:<name>:category:<raw>``
``[features.<name>] unit = [one, many]``    ``features:<name>:unit`` (a plural message)
``[features.<name>] adverse/...``           ``features:<name>:<field>``
``[policy.<code>] label/adverse/...``       ``policy:<code>:<field>``
``[wording] <key>`` (lender profile)        ``profile:wording:<key>``
==========================================  ===============================================

:func:`update_translations` writes ``translations/phrases.pot`` and brings each ``<locale>.po`` up to date
with it *without* fuzzy matching (a new phrase starts empty, never pre-filled with a neighbour's wording);
English starts as the phrase itself, so a lender only has to review it.
"""

from __future__ import annotations

import datetime as _dt
import io
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from explain.notices._locales import BASE_LOCALES, SUPPORTED_LOCALES, negotiate
from explain.catalog._phrasebook import TRANSLATIONS_DIR, Phrase

__all__ = ["PHRASE_FIELDS", "lender_phrases", "toml_phrases", "update_translations"]

#: The fields of a reason group or policy reason that a customer reads.
PHRASE_FIELDS: tuple[str, ...] = ("label", "adverse", "favourable", "advice", "short")

_VALUE_NOTE = "{{value}} is the customer's own value, already formatted ({kind}); keep it in the translation."
_POT = "phrases.pot"


def toml_phrases(data: Mapping[str, Any]) -> Iterator[Phrase]:
    """Every customer-facing phrase of a parsed catalog or profile file."""
    features = data.get("features", {})
    for code, group in data.get("groups", {}).items():
        display = group.get("display", (group.get("features") or [None])[0])
        kind = features.get(display, {}).get("kind", "number")
        for name in PHRASE_FIELDS:
            text = group.get(name)
            if isinstance(text, str):
                note = f"Reason group {code!r}, {name}."
                if "{value}" in text:
                    note += " " + _VALUE_NOTE.format(kind=kind)
                if group.get("protected"):
                    note += " Protected group: never shown to customers, kept for completeness."
                yield Phrase(f"groups:{code}:{name}", text, note)
    for feature, spec in features.items():
        for name in PHRASE_FIELDS[1:]:
            text = spec.get(name)
            if isinstance(text, str):
                note = f"Feature {feature!r}, {name}: used when this feature carried most of its group's effect."
                if "{value}" in text:
                    note += " " + _VALUE_NOTE.format(kind=spec.get("kind", "number"))
                yield Phrase(f"features:{feature}:{name}", text, note)
        for raw, phrase in spec.get("categories", {}).items():
            note = f"Category {raw!r} of feature {feature!r}; replaces {{value}} inside a reason sentence."
            yield Phrase(f"features:{feature}:category:{raw}", phrase, note)
        unit = spec.get("unit")
        if isinstance(unit, list) and len(unit) == 2 and all(isinstance(u, str) for u in unit):
            note = (f"Count of feature {feature!r} with its unit; {{count}} is the number. Chinese: one form, "
                    "with the measure word (e.g. \"{count}笔逾期还款\").")
            yield Phrase(f"features:{feature}:unit", (unit[0], unit[1]), note)
    for code, reason in data.get("policy", {}).items():
        for name in PHRASE_FIELDS:
            text = reason.get(name)
            if isinstance(text, str):
                yield Phrase(f"policy:{code}:{name}", text, f"Policy reason {code!r}, {name}.")
    for feature, action in data.get("actions", {}).items():
        if isinstance(action, dict) and isinstance(action.get("label"), str):
            yield Phrase(f"actions:{feature}:label", action["label"],
                         f"Feature {feature!r} as a customer can change it, inside \"what would change this\" "
                         "(e.g. \"If the amount you owe were ...\"): a noun phrase.")
    for key, text in data.get("wording", {}).items():
        if isinstance(text, str):
            yield Phrase(f"profile:wording:{key}", text, f"Lender profile wording {key!r}.")


def lender_phrases(*files: str | Path) -> list[Phrase]:
    """The phrases of the given catalog and profile files, in file order."""
    phrases: list[Phrase] = []
    for file in files:
        phrases.extend(toml_phrases(tomllib.loads(Path(file).read_text(encoding="utf-8"))))
    return phrases


def _template(phrases: list[Phrase], project: str) -> Catalog:
    pot = Catalog(project=project, version="", copyright_holder="", msgid_bugs_address="", fuzzy=False,
                  creation_date=_dt.datetime(2000, 1, 1, tzinfo=_dt.UTC), charset="utf-8")
    for phrase in phrases:
        pot.add(phrase.msgid, context=phrase.context, auto_comments=[phrase.note] if phrase.note else [])
    return pot


def _write(path: Path, catalog: Catalog) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=120, omit_header=False, ignore_obsolete=True, include_previous=False)
    path.write_bytes(buffer.getvalue())


def update_translations(folder: str | Path, *files: str | Path, project: str = "lender",
                        locales: Sequence[str] = ()) -> dict[str, dict[str, int]]:
    """Write ``<folder>/translations/phrases.pot`` and update ``<locale>.po`` for the base locales, every
    locale the folder already has a file for, and ``locales`` (``["zh_HK"]`` starts Hong Kong's file).

    New phrases are added empty (English: the phrase itself), gone ones are dropped, and no fuzzy matching
    is done. Returns, per locale, how many phrases are ``new``, ``untranslated`` and ``total``.
    """
    target = Path(folder) / TRANSLATIONS_DIR
    target.mkdir(parents=True, exist_ok=True)
    phrases = lender_phrases(*files)
    pot = _template(phrases, project)
    _write(target / _POT, pot)
    counts: dict[str, dict[str, int]] = {}
    wanted = set(BASE_LOCALES) | {negotiate(loc, field="--locale") for loc in locales}
    for locale in SUPPORTED_LOCALES:
        file = target / f"{locale}.po"
        if locale not in wanted and not file.is_file():
            continue
        if file.is_file():
            catalog = read_po(io.BytesIO(file.read_bytes()), locale=locale)
        else:
            catalog = Catalog(locale=locale, project=project, version="", fuzzy=False, charset="utf-8",
                              creation_date=pot.creation_date)
        known = {(m.context, m.id) for m in catalog if m.id}
        catalog.update(pot, no_fuzzy_matching=True, update_header_comment=False, keep_user_comments=True)
        new = 0
        for phrase in phrases:
            message = catalog.get(phrase.singular, context=phrase.context)
            if (phrase.context, phrase.msgid) in known or message is None:
                continue
            new += 1
            if locale == "en":  # the phrase is English already: start from it, a person reviews it
                message.string = phrase.msgid
        catalog.obsolete.clear()
        _write(file, catalog)
        untranslated = sum(1 for m in catalog if m.id and not all(m.string if isinstance(m.string, tuple) else (m.string,)))
        counts[locale] = {"new": new, "untranslated": untranslated, "total": len(phrases)}
    return counts
