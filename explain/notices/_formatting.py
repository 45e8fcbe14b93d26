"""Customers' own values, dates and money as text, always through Babel with an explicit locale.

Never ``f"{x:,.2f}"`` and never the process locale: the same number reads ``¥8,000.00`` in a Chinese notice
and ``CN¥8,000.00`` in an English one, and a date ``2026年12月1日`` or ``December 1, 2026``.

>>> format_money(8000, "CNY", locale="zh_CN")
'¥8,000.00'
>>> format_value(24, "months", locale="en")
'24 months'
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
from decimal import Decimal
from numbers import Real
from typing import TYPE_CHECKING, Any

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_symbol
from babel.units import format_unit

from explain._exceptions import NoticeInputError
from explain.notices._locales import babel_locale, negotiate

if TYPE_CHECKING:
    from explain.catalog._catalog import FeatureCatalog

__all__ = ["MAX_MAGNITUDE", "category_context", "format_date", "format_money", "format_number", "format_value"]


#: The largest magnitude a notice will print: beyond it Babel's decimal arithmetic overflows, and no credit
#: limit or customer value is that large.
MAX_MAGNITUDE = 10**15


@functools.lru_cache(maxsize=None)
def _babel(locale: str) -> Locale:
    """Babel's locale for one of ours, parsed once: handing Babel the name re-parses it on every call."""
    return Locale.parse(babel_locale(locale))


@functools.lru_cache(maxsize=None)
def _own_symbol(currency: str, locale: str) -> str | None:
    """A quoted symbol to print instead of the locale's, when the locale's is a bare ``$`` for a currency
    that is not the US dollar: CLDR gives Taiwan's dollar as ``$`` in zh_Hant_TW, which a letter (read
    abroad, forwarded, printed) must not leave ambiguous; it reads ``NT$`` as in English."""
    if currency == "USD" or get_currency_symbol(currency, _babel(locale)) != "$":
        return None
    return "'" + get_currency_symbol(currency, Locale.parse("en")) + "'"


def _number(value: Any, field: str, *, allow_negative: bool = True) -> Decimal | int:
    # numpy scalars are Real; bool is not a measured value, NaN and inf are not values a customer has.
    if isinstance(value, bool) or not isinstance(value, Real | Decimal):
        raise NoticeInputError(field, "a number", value)
    if isinstance(value, float) and not math.isfinite(value):
        raise NoticeInputError(field, "a finite number", value)
    if abs(value) >= MAX_MAGNITUDE:
        raise NoticeInputError(field, f"smaller than {MAX_MAGNITUDE:.0e} in size", value)
    if not allow_negative and value < 0:
        raise NoticeInputError(field, "zero or more", value)
    if isinstance(value, int) or (hasattr(value, "is_integer") and float(value).is_integer()):
        return int(value)
    # Through str() so 0.1 stays 0.1 rather than its binary expansion.
    return Decimal(str(float(value)))


def format_money(amount: Any, currency: str, *, locale: str, field: str = "amount", whole: bool = False) -> str:
    """An amount in ``currency`` as the locale writes it, e.g. ``¥8,000.00`` (zh_CN), ``CN¥8,000.00`` (en),
    ``HK$8,000.00`` (zh_HK), ``NT$8,000.00`` (zh_TW); ``whole``: without decimals (``HK$8,000``), for an
    amount the caller knows is whole."""
    return _money_text(_number(amount, field), currency, negotiate(locale), whole)


def format_number(value: Any, *, locale: str, field: str = "value") -> str:
    """A plain number with at most one decimal, grouped as the locale groups digits."""
    return _number_text(_number(value, field), locale)


# Babel formats a number in 50-80 us; a notice writes the same limits several times, in two locales. The
# numbers reaching these are canonical (an int, or the Decimal of a float's shortest repr: see _number), so
# equal keys always mean the same text; the caches hold formatted numbers only, never an account.
@functools.lru_cache(maxsize=4096)
def _money_text(number: Decimal | int, currency: str, locale: str, whole: bool) -> str:
    babel = _babel(locale)
    symbol = _own_symbol(currency, locale)
    if whole:
        return format_currency(number, currency, format=f"{symbol or '¤'}#,##0", currency_digits=False, locale=babel)
    if symbol is not None:
        pattern = babel.currency_formats["standard"].pattern.replace("¤", symbol)
        return format_currency(number, currency, format=pattern, locale=babel)
    return format_currency(number, currency, locale=babel)


@functools.lru_cache(maxsize=4096)
def _number_text(number: Decimal | int, locale: str) -> str:
    return format_decimal(number, format="#,##0.#", locale=_babel(locale))


def format_date(value: _dt.date, *, locale: str, field: str = "date", length: str = "long") -> str:
    """A calendar date: long ``2026年12月1日`` / ``December 1, 2026``, medium ``2026年12月1日`` / ``Dec 1, 2026``."""
    if isinstance(value, _dt.datetime) or not isinstance(value, _dt.date):
        raise NoticeInputError(field, "a date (datetime.date, without a time)", value)
    if length not in ("long", "medium"):
        raise NoticeInputError("date length", "'long' or 'medium'", length)
    return _date_text(value, length, negotiate(locale))


@functools.lru_cache(maxsize=1024)
def _date_text(value: _dt.date, length: str, locale: str) -> str:
    # A portfolio's notices carry a handful of dates: each is formatted once per locale.
    return _babel_format_date(value, format=length, locale=_babel(locale))


def category_context(feature: str, raw: str) -> str:
    """The gettext context of one category phrase of a feature in the catalog."""
    return f"features:{feature}:category:{raw}"


def format_value(
    value: Any,
    kind: str,
    *,
    locale: str,
    currency: str = "CNY",
    feature: str | None = None,
    catalog: FeatureCatalog | None = None,
    scale: str = "fraction",
    field: str = "value",
    compact: bool = False,
) -> str:
    """A customer's own value of a feature, as a phrase in ``locale``.

    ========  =====================================  ==================  =====================
    kind      value                                  en                  zh_CN
    ========  =====================================  ==================  =====================
    money     an amount in ``currency``              CN¥8,000.00         ¥8,000.00
    percent   scale ``fraction``: 0.651              65%                 65%
    percent   scale ``percent``: 65.1                65.1%               65.1%
    count     3, with the feature's ``unit``         3 late payments     3笔逾期还款
    count     3, no unit                             3                   3
    months    24                                     24 months           24个月
    years     7                                      7 years             7年
    number    1234.5                                 1,234.5             1,234.5
    category  a raw category of the catalog          its phrase          its translation
    ========  =====================================  ==================  =====================

    Parameters
    ----------
    value
        The raw value, as the model saw it.
    kind
        One of the kinds above.
    feature, catalog
        The catalogued feature the value belongs to: its category phrases, count unit and percent scale come
        from the catalog, and their wording from the catalog's translations.
    scale
        For ``percent`` without a catalog: ``fraction`` or ``percent``.
    compact
        Money without decimals when the amount is whole (``¥8,000``), for a short message.
    """
    locale = negotiate(locale)
    spec = catalog.features.get(feature) if catalog is not None and feature is not None else None
    if kind == "category":
        if spec is None:
            raise NoticeInputError(field, "a category of a catalogued feature", value)
        raw = str(value)
        if raw not in spec.categories:
            raise NoticeInputError(f"{field} of {feature!r}", f"one of {sorted(spec.categories)}", value)
        return catalog.phrase(category_context(feature, raw), spec.categories[raw], locale=locale)
    if kind == "money":
        own = spec.currency if spec is not None else None
        whole = compact and Decimal(_number(value, field)) == Decimal(_number(value, field)).to_integral_value()
        if own is not None and own != currency:
            # The data's own unit, named in words ("4,771.00 German marks", "4,771.00德国马克"): never the
            # letter's currency sign on an amount that is not in it.
            return format_currency(_number(value, field), own, format_type="name", locale=_babel(locale),
                                   **({"currency_digits": False, "decimal_quantization": False} if whole else {}))
        if whole:
            return format_money(value, currency, locale=locale, field=field, whole=True)
        return format_money(value, currency, locale=locale, field=field)
    if kind == "percent":
        number = _number(value, field)
        if (spec.scale if spec is not None else scale) == "percent":
            return format_percent(Decimal(number) / 100, format="#,##0.#%", locale=_babel(locale))
        return format_percent(number, format="#,##0%", locale=_babel(locale))
    if kind == "count":
        number = _number(value, field, allow_negative=False)
        shown = format_decimal(number, format="#,##0", locale=_babel(locale))
        if spec is not None and spec.unit is not None:
            return catalog.count_text(feature, int(number), shown, locale=locale)
        return shown
    if kind in ("months", "years"):
        number = _number(value, field, allow_negative=False)
        unit = "duration-month" if kind == "months" else "duration-year"
        return format_unit(number, unit, length="long", format="#,##0.#", locale=_babel(locale))
    if kind == "number":
        return format_number(value, locale=locale, field=field)
    raise NoticeInputError(f"kind of {field}", "money, percent, count, months, years, number or category", kind)
