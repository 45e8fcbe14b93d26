"""Which languages a notice can be written in, and the gettext catalogs behind them.

A customer who asked for Chinese must never get English because a file was missing: Babel's
``Translations.load`` quietly returns ``NullTranslations`` and ``negotiate_locale`` quietly picks another
language, so both are wrapped here to fail loudly instead.

>>> negotiate("zh-Hans")
'zh_CN'
>>> negotiate("en-US")
'en'
>>> negotiate("zh-Hant-HK"), negotiate("zh-TW")
('zh_HK', 'zh_TW')

Traditional Chinese is two locales, not one: Hong Kong and Taiwan write the same characters with different
financial words (賬戶 / 帳戶, 網絡 / 網路, 短訊 / 簡訊), so a bare ``zh-Hant`` is refused rather than guessed.
"""

from __future__ import annotations

import functools
from pathlib import Path

from babel.support import Translations

from explain._exceptions import UnsupportedLocaleError
from explain.notices._resources import resource_dir

__all__ = [
    "BASE_LOCALES",
    "DOMAIN",
    "LOCALES_DIR",
    "SUPPORTED_LOCALES",
    "CatalogMissingError",
    "babel_locale",
    "get_translations",
    "html_lang",
    "is_chinese",
    "language_name",
    "page_lang",
    "negotiate",
]

#: The locales notices are written in, in the order they are listed to users.
SUPPORTED_LOCALES: tuple[str, ...] = ("zh_CN", "en", "zh_HK", "zh_TW")
#: The locales every lender's translations must cover (``translations/<locale>.po``); the others are optional
#: per lender, and a notice asked for in one the lender has no translations for is an error naming it.
BASE_LOCALES: tuple[str, ...] = ("zh_CN", "en")
#: Root of the gettext catalogs (``<dir>/<locale>/LC_MESSAGES/messages.mo``), compiled by ``make locales``.
LOCALES_DIR = resource_dir("locales")
DOMAIN = "messages"

# Every spelling a caller (HTTP Accept-Language, a CLI flag, a config file) may reasonably use, after
# lower-casing and turning "-" into "_". Anything else is an error that lists SUPPORTED_LOCALES.
_ALIASES: dict[str, str] = {
    "zh": "zh_CN",
    "zh_cn": "zh_CN",
    "zh_hans": "zh_CN",
    "zh_hans_cn": "zh_CN",
    "en": "en",
    "en_us": "en",
    # Hong Kong and Taiwan: the region decides the vocabulary, so each needs its region (zh_Hant alone is refused).
    "zh_hk": "zh_HK",
    "zh_hant_hk": "zh_HK",
    "zh_mo": "zh_HK",  # Macau reads Hong Kong's Traditional forms (賬戶, 網絡) rather than Taiwan's
    "zh_hant_mo": "zh_HK",
    "zh_tw": "zh_TW",
    "zh_hant_tw": "zh_TW",
}

# The Babel (CLDR) locale behind each of ours: the script is explicit so HK and TW get Traditional data.
_BABEL = {"zh_CN": "zh_Hans_CN", "en": "en", "zh_HK": "zh_Hant_HK", "zh_TW": "zh_Hant_TW"}
# The HTML ``lang`` of a page or letter in each locale (BCP 47, script included: screen readers and fonts
# pick Traditional or Simplified glyphs from it).
_HTML_LANG = {"zh_CN": "zh-Hans-CN", "en": "en", "zh_HK": "zh-Hant-HK", "zh_TW": "zh-Hant-TW"}
# The short tag of the agent's and auditor's pages (what browsers send in Accept-Language).
_PAGE_LANG = {"zh_CN": "zh-CN", "en": "en", "zh_HK": "zh-HK", "zh_TW": "zh-TW"}
# Each language in its own words, for a language switch: a reader finds theirs whatever the page's language.
_NAMES = {"zh_CN": "简体中文", "en": "English", "zh_HK": "繁體中文（香港）", "zh_TW": "繁體中文（台灣）"}


class CatalogMissingError(UnsupportedLocaleError, FileNotFoundError):
    """The locale is supported but its compiled catalog is not on disk (run ``make locales``)."""

    def __init__(self, locale: str, path: Path) -> None:
        self.path = path
        super().__init__(locale, SUPPORTED_LOCALES)
        self.args = (
            f"No compiled message catalog for locale {locale!r} at '{path}'. "
            "Run `make locales` to compile the catalogs; notices never fall back to another language.",
        )

    def __str__(self) -> str:
        return str(self.args[0])


def negotiate(locale: object, *, field: str = "locale") -> str:
    """Map a caller's locale spelling to one of :data:`SUPPORTED_LOCALES`.

    Accepts ``zh-CN``, ``zh_CN``, ``zh``, ``zh-Hans``, ``en-US``, ``en``, ``zh-HK``, ``zh-Hant-HK``, ``zh-MO``,
    ``zh-TW`` and ``zh-Hant-TW`` (any case, ``-`` or ``_``); anything else, including a non-string, raises
    :class:`~explain.UnsupportedLocaleError` naming ``field``.
    """
    if not isinstance(locale, str):
        raise UnsupportedLocaleError(locale, SUPPORTED_LOCALES, field=field)
    key = locale.strip().replace("-", "_").lower()
    try:
        return _ALIASES[key]
    except KeyError:
        raise UnsupportedLocaleError(locale, SUPPORTED_LOCALES, field=field) from None


def is_chinese(locale: str) -> bool:
    """Whether a negotiated locale writes Chinese (full-width punctuation, characters counted, 70 per SMS)."""
    return locale != "en"


def babel_locale(locale: str) -> str:
    """The Babel locale identifier of a negotiated locale (``zh_HK`` -> ``zh_Hant_HK``)."""
    return _BABEL[negotiate(locale)]


def html_lang(locale: str) -> str:
    """The HTML ``lang`` attribute of a negotiated locale (``zh_TW`` -> ``zh-Hant-TW``)."""
    return _HTML_LANG[negotiate(locale)]


def page_lang(locale: str) -> str:
    """The ``lang`` of a page (the agent page, a report) in a negotiated locale (``zh_HK`` -> ``zh-HK``)."""
    return _PAGE_LANG[negotiate(locale)]


def language_name(locale: str) -> str:
    """The locale's language in its own words (``简体中文``, ``English``, ``繁體中文（香港）``)."""
    return _NAMES[negotiate(locale)]


def catalog_path(locale: str, locales_dir: Path = LOCALES_DIR) -> Path:
    """Where the compiled catalog of a negotiated locale lives."""
    return locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"


@functools.lru_cache(maxsize=None)
def get_translations(locale: str, locales_dir: Path = LOCALES_DIR) -> Translations:
    """The gettext catalog of ``locale``, loaded once per process.

    Raises
    ------
    UnsupportedLocaleError
        ``locale`` is not one we write notices in.
    CatalogMissingError
        The ``.mo`` file is missing: an error, never a silent fallback to English.
    """
    locale = negotiate(locale)
    path = catalog_path(locale, locales_dir)
    if not path.is_file():
        raise CatalogMissingError(locale, path)
    with path.open("rb") as fp:
        return Translations(fp, domain=DOMAIN)
