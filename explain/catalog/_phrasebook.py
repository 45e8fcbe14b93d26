"""A lender's own translations: its catalog's and profile's phrases, per locale, from gettext ``.po`` files.

The toolkit's sentences live in ``locales/`` and ship with the package; a lender's phrases (reason wording,
category wording, unit words, its legal wording) belong to the lender and live beside its catalog and
profile, in ``translations/<locale>.po``. They travel inside the bundle and are read straight from the
``.po`` files (compiled in memory), so nothing is generated or committed. Every phrase the catalog and the
profile use must have a reviewed (non-fuzzy) translation in every locale the lender translates, with the same
placeholders; that is checked when a bundle is built and when it is loaded, never at render time.

The base locales (:data:`~explain.notices._locales.BASE_LOCALES`: ``zh_CN`` and ``en``) are required; ``zh_HK``
and ``zh_TW`` are the lender's choice (a file ``translations/zh_HK.po`` opts in, and then it must be complete).
A notice asked for in a locale the lender does not translate is refused, naming the locale and the file.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from explain._exceptions import TranslationError
from explain.notices._locales import BASE_LOCALES, SUPPORTED_LOCALES, negotiate

__all__ = ["Phrase", "Phrasebook", "TRANSLATIONS_DIR"]

#: Where a lender folder (and a bundle) keeps its translations: ``translations/<locale>.po``.
TRANSLATIONS_DIR = "translations"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Phrase:
    """One phrase a lender's file shows customers: ``msgid`` is English, or (singular, plural) for a unit."""

    context: str
    msgid: str | tuple[str, str]
    note: str = ""

    @property
    def singular(self) -> str:
        return self.msgid[0] if isinstance(self.msgid, tuple) else self.msgid


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


class Phrasebook:
    """Translations of a lender's phrases for every locale it translates (at least the base locales).

    Build with :meth:`from_dir` (a folder of ``<locale>.po`` files) or :meth:`from_catalogs`.
    """

    def __init__(self, catalogs: Mapping[str, Catalog], *, sources: Mapping[str, bytes] | None = None) -> None:
        self._catalogs = dict(catalogs)
        self._sources = dict(sources or {})
        self._translations: dict[str, Translations] = {}
        for locale, catalog in self._catalogs.items():
            buffer = io.BytesIO()
            write_mo(buffer, catalog, use_fuzzy=False)
            buffer.seek(0)
            self._translations[locale] = Translations(buffer)

    @classmethod
    def from_dir(cls, path: str | Path) -> Phrasebook:
        """Read ``<path>/<locale>.po`` for every base locale and every other supported locale whose file is
        there; a missing base file names the locale."""
        path = Path(path)
        catalogs, sources = {}, {}
        for locale in SUPPORTED_LOCALES:
            file = path / f"{locale}.po"
            if not file.is_file():
                if locale in BASE_LOCALES:
                    raise TranslationError([(locale, None, f"no translation file {file}")])
                continue
            data = file.read_bytes()
            try:
                catalogs[locale] = read_po(io.BytesIO(data), locale=locale, abort_invalid=True)
            except Exception as exc:  # babel raises PoFileError and ValueError for a malformed file
                raise TranslationError([(locale, None, f"{file} is not a valid .po file ({exc})")]) from exc
            sources[locale] = data
        return cls(catalogs, sources=sources)

    @property
    def locales(self) -> tuple[str, ...]:
        """The locales this book translates, in :data:`SUPPORTED_LOCALES` order."""
        return tuple(locale for locale in SUPPORTED_LOCALES if locale in self._catalogs)

    def _book(self, locale: str, phrase: Phrase) -> Translations:
        locale = negotiate(locale)
        if locale not in self._translations:
            raise TranslationError([(locale, phrase, f"the lender has no translations in {locale} "
                                                     f"(translations/{locale}.po: `explain phrases update --locale "
                                                     f"{locale}`, translate, `explain phrases check`)")])
        return self._translations[locale]

    @functools.cached_property
    def sha256(self) -> str:
        """Hash of the translation files (computed once: they never change): part of every notice's template
        version."""
        digest = hashlib.sha256()
        for locale in sorted(self._sources):
            digest.update(locale.encode() + b"\0" + self._sources[locale] + b"\0")
        return digest.hexdigest()

    def problems(self, phrases: Iterable[Phrase]) -> list[tuple[str, Phrase | None, str]]:
        """``(locale, phrase, problem)`` for every phrase without a usable translation."""
        found = []
        for phrase in phrases:
            for locale in self.locales:
                catalog = self._catalogs.get(locale)
                message = catalog.get(phrase.singular, context=phrase.context) if catalog is not None else None
                if message is None:
                    found.append((locale, phrase, "missing"))
                    continue
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                if isinstance(phrase.msgid, tuple) != isinstance(message.id, tuple):
                    found.append((locale, phrase, "has the wrong form (plural and singular differ)"))
                elif message.fuzzy:
                    found.append((locale, phrase, "fuzzy (needs review)"))
                elif not all(s and s.strip() for s in strings):
                    found.append((locale, phrase, "untranslated"))
                else:
                    wanted = _placeholders(phrase.singular)
                    for text in strings:
                        if _placeholders(text) != wanted:
                            shown = ", ".join(f"{{{p}}}" for p in sorted(wanted)) or "none"
                            found.append((locale, phrase, f"placeholders differ (expected {shown}): {text!r}"))
                            break
        return found

    def translated(self, phrases: Iterable[Phrase]) -> list[tuple[str, Phrase, str]]:
        """``(locale, phrase, text)`` for every translation the book holds of ``phrases`` (plural forms each)."""
        found = []
        for phrase in phrases:
            for locale in self.locales:
                catalog = self._catalogs.get(locale)
                message = catalog.get(phrase.singular, context=phrase.context) if catalog is not None else None
                if message is not None:
                    strings = message.string if isinstance(message.string, tuple) else (message.string,)
                    found.extend((locale, phrase, text) for text in strings if text)
        return found

    def require(self, phrases: Iterable[Phrase]) -> None:
        """Raise :class:`~explain.TranslationError` naming every phrase and locale that lacks a translation."""
        found = self.problems(phrases)
        if found:
            raise TranslationError(found)

    def text(self, context: str, msgid: str, *, locale: str) -> str:
        """The translation of one phrase; a phrase that was never checked in is an error, not English."""
        locale = negotiate(locale)
        translations = self._book(locale, Phrase(context, msgid))
        if f"{context}\x04{msgid}" not in translations._catalog:  # noqa: SLF001 - gettext's entry storage
            raise TranslationError([(locale, Phrase(context, msgid), "missing")])
        return translations.pgettext(context, msgid)

    def plural(self, context: str, singular: str, plural: str, n: int, *, locale: str) -> str:
        """The plural form of a unit phrase for ``n`` in ``locale`` (gettext's plural rules)."""
        locale = negotiate(locale)
        translations = self._book(locale, Phrase(context, (singular, plural)))
        if (f"{context}\x04{singular}", 0) not in translations._catalog:  # noqa: SLF001
            raise TranslationError([(locale, Phrase(context, (singular, plural)), "missing")])
        return translations.npgettext(context, singular, plural, n)
