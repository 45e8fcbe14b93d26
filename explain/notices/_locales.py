"""Which languages a notice can be written in, and the gettext catalogs behind them.

A customer who asked for Chinese must never get English because a file was missing: Babel's
``Translations.load`` quietly returns ``NullTranslations`` and ``negotiate_locale`` quietly picks another
language, so both are wrapped here to fail loudly instead.

>>> negotiate("zh-Hans")
'zh_CN'
>>> negotiate("en-US")
'en'
"""

from __future__ import annotations

import functools
from pathlib import Path

from babel.support import Translations

from explain._exceptions import UnsupportedLocaleError
from explain.notices._resources import resource_dir

__all__ = [
    "DOMAIN",
    "LOCALES_DIR",
    "SUPPORTED_LOCALES",
    "CatalogMissingError",
    "get_translations",
    "negotiate",
]

#: The locales notices are written in, in the order they are listed to users.
SUPPORTED_LOCALES: tuple[str, ...] = ("zh_CN", "en")
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
}


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

    Accepts ``zh-CN``, ``zh_CN``, ``zh``, ``zh-Hans``, ``en-US`` and ``en`` (any case); anything else,
    including a non-string, raises :class:`~explain.UnsupportedLocaleError` naming ``field``.
    """
    if not isinstance(locale, str):
        raise UnsupportedLocaleError(locale, SUPPORTED_LOCALES, field=field)
    key = locale.strip().replace("-", "_").lower()
    try:
        return _ALIASES[key]
    except KeyError:
        raise UnsupportedLocaleError(locale, SUPPORTED_LOCALES, field=field) from None


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
