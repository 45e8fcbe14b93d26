"""A Babel extractor for the TOML files that hold customer-facing English: catalogs and lender profiles.

Registered in ``babel.cfg``::

    [extractors]
    toml = explain._i18n_extract:extract_toml

    [toml: explain/data/*_catalog.toml]
    [toml: explain/data/*_profile.toml]

Every message gets a gettext context naming where it came from, so two groups may share an English wording
and still be translated differently:

==========================================  ===============================================
TOML entry                                  context
==========================================  ===============================================
``[groups.<code>] label/adverse/...``       ``groups:<code>:<field>``
``[features.<name>.categories] "<raw>"``    ``features:<name>:category:<raw>``
``[policy.<code>] label/adverse/...``       ``policy:<code>:<field>``
``[wording] <key>`` (lender profile)        ``profile:wording:<key>``
==========================================  ===============================================
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from typing import IO, Any

__all__ = ["PHRASE_FIELDS", "extract_toml", "toml_messages"]

#: The fields of a reason group or policy reason that a customer reads.
PHRASE_FIELDS: tuple[str, ...] = ("label", "adverse", "favourable", "advice")

_VALUE_NOTE = "{{value}} is the customer's own value, already formatted ({kind}); keep it in the translation."


def toml_messages(data: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """``(context, msgid, note for translators)`` for every customer-facing string of a parsed file."""
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
                yield f"groups:{code}:{name}", text, note
    for feature, spec in features.items():
        for raw, phrase in spec.get("categories", {}).items():
            note = f"Category {raw!r} of feature {feature!r}; replaces {{value}} inside a reason sentence."
            yield f"features:{feature}:category:{raw}", phrase, note
    for code, reason in data.get("policy", {}).items():
        for name in PHRASE_FIELDS:
            text = reason.get(name)
            if isinstance(text, str):
                yield f"policy:{code}:{name}", text, f"Policy reason {code!r}, {name}."
    for key, text in data.get("wording", {}).items():
        if isinstance(text, str):
            yield f"profile:wording:{key}", text, f"Lender profile wording {key!r}."


def _line_numbers(text: str) -> dict[str, int]:
    """First line on which each string value appears, so translators can find the entry."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if "=" not in stripped or stripped.startswith("#"):
            continue
        try:
            parsed = tomllib.loads(stripped)
        except tomllib.TOMLDecodeError:
            continue  # a multi-line array or inline table: carries no phrase in our files
        for value in parsed.values():
            if isinstance(value, str):
                lines.setdefault(value, number)
    return lines


def extract_toml(
    fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Any, options: Mapping[str, Any]
) -> Iterator[tuple[int, str, tuple[str, str], list[str]]]:
    """Babel extractor entry point: yields ``(lineno, "pgettext", (context, msgid), comments)``."""
    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    data = tomllib.loads(text)
    lines = _line_numbers(text)
    for context, message, note in toml_messages(data):
        yield lines.get(message, 1), "pgettext", (context, message), [note]
