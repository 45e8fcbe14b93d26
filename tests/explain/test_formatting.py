"""Values, money and dates: only through Babel, with the notice's locale, never the process locale."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from babel.dates import format_date as babel_date
from babel.numbers import format_currency

from explain import CatalogError, NoticeInputError
from explain.notices._formatting import format_date, format_money, format_number, format_value

LOCALES = ("zh_CN", "en")


@pytest.mark.parametrize(
    ("locale", "expected"), [("zh_CN", "¥8,000.00"), ("en", "CN¥8,000.00")]
)
def test_money_reads_as_the_issue_shows(locale, expected):
    assert format_money(8000, "CNY", locale=locale) == expected


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("amount", [0, 8000, 20000, 1234.5, Decimal("99999.99"), np.int64(5951), np.float64(7.25)])
@pytest.mark.parametrize("currency", ["CNY", "USD", "EUR"])
def test_money_equals_babel(locale, amount, currency):
    assert format_money(amount, currency, locale=locale) == format_currency(amount, currency, locale=locale)


@pytest.mark.parametrize(("locale", "expected"), [("zh_CN", "2026年12月1日"), ("en", "December 1, 2026")])
def test_dates_read_as_the_issue_shows(locale, expected):
    assert format_date(dt.date(2026, 12, 1), locale=locale) == expected


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("day", [dt.date(2026, 1, 31), dt.date(2027, 2, 28), dt.date(2030, 12, 1)])
@pytest.mark.parametrize("length", ["long", "medium"])
def test_dates_equal_babel(locale, day, length):
    assert format_date(day, locale=locale, length=length) == babel_date(day, format=length, locale=locale)


def test_locale_spellings_are_negotiated():
    assert format_money(8000, "CNY", locale="zh-Hans") == format_money(8000, "CNY", locale="zh_CN")
    assert format_date(dt.date(2026, 12, 1), locale="en-US") == "December 1, 2026"


@pytest.mark.parametrize(
    ("value", "kind", "zh", "en"),
    [
        (24, "months", "24个月", "24 months"),
        (1, "months", "1个月", "1 month"),
        (np.int64(4), "years", "4年", "4 years"),
        (3, "count", "3", "3"),
        (12500, "count", "12,500", "12,500"),
        (0.85, "percent", "85%", "85%"),
        (2.0, "number", "2", "2"),
        (2.345, "number", "2.3", "2.3"),
        (5951, "money", "¥5,951.00", "CN¥5,951.00"),
    ],
)
def test_value_kinds(value, kind, zh, en):
    assert format_value(value, kind, locale="zh_CN") == zh
    assert format_value(value, kind, locale="en") == en


def test_category_is_the_translated_customer_phrase(catalog):
    spec = catalog.features["credit_history"]
    raw = "delay in paying off in the past"
    kwargs = {"feature": "credit_history", "catalog": catalog}
    assert spec.categories[raw] == "You have paid late in the past"
    assert format_value(raw, "category", locale="en", **kwargs) == "You have paid late in the past"
    assert format_value(raw, "category", locale="zh_CN", **kwargs) == "您过去有过逾期还款"


def test_every_category_of_the_demo_catalog_is_translated(catalog):
    for name, spec in catalog.features.items():
        for raw, phrase in spec.categories.items():
            kwargs = {"feature": name, "catalog": catalog}
            assert format_value(raw, "category", locale="en", **kwargs) == phrase
            zh = format_value(raw, "category", locale="zh_CN", **kwargs)
            assert zh and zh != phrase, (name, raw)


def test_unknown_category_names_the_feature(catalog):
    with pytest.raises(NoticeInputError, match="'housing'"):
        format_value("castle", "category", locale="en", feature="housing", catalog=catalog)


def test_category_of_an_uncatalogued_feature_is_an_error(catalog):
    with pytest.raises(NoticeInputError, match="a category of a catalogued feature"):
        format_value("x", "category", locale="zh_CN", feature="made_up", catalog=catalog)


@pytest.mark.parametrize(
    ("value", "kind"),
    [(-1, "count"), (-3, "months"), (float("nan"), "number"), (float("inf"), "money"), (True, "count"),
     ("12", "money"), (None, "percent")],
)
def test_bad_values_are_clear_errors(value, kind):
    with pytest.raises(NoticeInputError, match="'value'"):
        format_value(value, kind, locale="en")


def test_unknown_kind():
    with pytest.raises(NoticeInputError, match="money, percent"):
        format_value(1, "furlongs", locale="en")


def test_datetime_is_not_a_date():
    with pytest.raises(NoticeInputError, match="'notice_date'"):
        format_date(dt.datetime(2026, 12, 1, 9, 0), locale="en", field="notice_date")


def test_number_never_shows_a_raw_float():
    assert format_number(0.1 + 0.2, locale="en") == "0.3"
    assert format_number(1234567.891, locale="zh_CN") == "1,234,567.9"
