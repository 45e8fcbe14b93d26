"""Typed, bounded parameters: the path and query parameters of the routes and the text rules bodies share.

Every parameter has a type and a bound in the OpenAPI schema, so a client (or a fuzzer) knows what is
accepted and the database never sees a value it would refuse: no NUL or other control character in any
text (PostgreSQL refuses NUL in text; a control character in an account reference or an id is never
meant), offsets far below a 64-bit overflow, dates written as ISO dates (never a number read as a Unix
timestamp).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from explain import NoticeInputError
from explain.notices._account_ref import check_account_ref
from explain.notices._notices import MAX_NOTICE_DATE, MIN_NOTICE_DATE

__all__ = [
    "MAX_DATE",
    "MAX_OFFSET",
    "MIN_DATE",
    "NO_CONTROL",
    "AccountRef",
    "AccountRefPath",
    "BundleNamePath",
    "DecisionIdPath",
    "IsoDate",
    "IsoDateTime",
    "LocaleQuery",
    "account_ref",
    "iso_date",
    "iso_datetime",
]

#: A text without C0 control characters (NUL included) or DEL.
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
#: The largest ``offset`` a listing takes: far beyond any account's history, far below SQL's bigint.
MAX_OFFSET = 1_000_000

#: Dates a caller may send (notice, effective, export bounds): wide enough for any real letter or audit
#: window, narrow enough that adding a notice period or converting an offset to UTC never overflows.
MIN_DATE = MIN_NOTICE_DATE
MAX_DATE = MAX_NOTICE_DATE

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", re.ASCII)


def iso_date(value: object) -> object:
    """Only ``YYYY-MM-DD`` (or a date): pydantic would otherwise read ``0`` as 1970-01-01."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        return value
    raise PydanticCustomError("date_parsing", "Input should be a date written YYYY-MM-DD",
                              {"expected": "a date, YYYY-MM-DD"})


def iso_datetime(value: object) -> object:
    """Only an ISO 8601 date-time or date: pydantic would otherwise read ``0.5`` as a Unix timestamp."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and (_DATETIME.fullmatch(value) or _DATE.fullmatch(value)):
        return value
    raise PydanticCustomError("datetime_parsing", "Input should be an ISO 8601 date-time",
                              {"expected": "an ISO 8601 date-time, e.g. 2026-11-01T00:00:00Z"})


def _date_in_range(value: dt.date) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value
    if not MIN_DATE <= day <= MAX_DATE:
        raise PydanticCustomError("date_out_of_range", "Dates must be from {min} to {max}",
                                  {"min": MIN_DATE.isoformat(), "max": MAX_DATE.isoformat(),
                                   "expected": f"a date from {MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}"})
    return value


IsoDate = Annotated[dt.date, BeforeValidator(iso_date), AfterValidator(_date_in_range)]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(iso_datetime), AfterValidator(_date_in_range)]

def account_ref(value: str) -> str:
    """The reference in NFC, or a 422 naming the first invisible or direction-changing code point (the rule of
    :mod:`explain.notices._account_ref`, so the service, the CLI and the batch accept the same references)."""
    try:
        return check_account_ref(value)
    except NoticeInputError as exc:
        raise PydanticCustomError("account_ref_character", "The account reference has {got}",
                                  {"got": str(exc.got), "expected": exc.expected}) from None


#: An account reference as posted or looked up: normalised and restricted (see :func:`account_ref`).
AccountRef = Annotated[str, AfterValidator(account_ref)]

DecisionIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_CONTROL,
                                     description="The decision id (a UUID) returned when it was issued.")]
AccountRefPath = Annotated[str, Path(min_length=1, max_length=128, pattern=NO_CONTROL,
                                     description="The account as the customer knows it."),
                           AfterValidator(account_ref)]
BundleNamePath = Annotated[str, Path(min_length=1, max_length=128, pattern=NO_CONTROL, description="A bundle name.")]
LocaleQuery = Annotated[str | None, Query(min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8}){0,2}$",
                                          description="Phrase the reasons in this language for the reader, "
                                                      "independent of the customer's (zh_CN, en, zh_HK or zh_TW).",
                                          examples=["en"])]
