"""Printing a stored decision: the letter as it was issued (the record's notice, date and mailing address).

The service's ``notice.pdf`` and the replay print through here, so a PDF printed again later from the same
record, with the same lender profile, is the same file, byte for byte.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from explain._exceptions import NoticeInputError
from explain.notices._locales import negotiate
from explain.notices._profile import LenderProfile
from explain.printing._layout import PrintedLetter, prepare_letter
from explain.printing._paper import Paper

__all__ = ["record_letter"]


def record_letter(
    record: Any,
    *,
    profile: LenderProfile,
    locale: str | None = None,
    paper: Paper | str | None = None,
    notice: Mapping[str, Any] | None = None,
) -> PrintedLetter:
    """The print page of a stored decision's (:class:`~explain.audit.AuditRecord`) letter in ``locale``.

    ``locale`` defaults to the first the decision was issued in; ``notice`` replaces the stored one (a replay
    prints the notice it recomputed, to compare).

    Raises
    ------
    UnsupportedLocaleError, NoticeInputError
        a locale the toolkit does not write, or one the decision has no notice in; a bad paper.
    """
    inputs = record.inputs
    issued = list(inputs.get("locales") or record.notices)
    code = issued[0] if locale is None else negotiate(locale)
    if code not in record.notices:
        raise NoticeInputError("locale", f"one of the locales the decision was issued in ({', '.join(issued)})", locale)
    return prepare_letter(notice if notice is not None else record.notices[code], profile=profile,
                          notice_date=_dt.date.fromisoformat(inputs["notice_date"]), paper=paper,
                          mailing_address=inputs.get("mailing_address"))
