"""Outcome notices: the letter and short message that tell the customer what the human review decided.

They go through the same machinery as the decision's notices: the templates in ``templates/review_outcome/``
(with the common header and footer and the jurisdiction pack's complaint channels), the toolkit's gettext
catalogs (strict: an untranslated sentence fails), the lender's profile, and Babel for money and dates.
Everything a notice is rendered from is kept in its ``inputs`` so that replay renders it again, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from explain.audit._audit import canonical_json, notice_sha256
from explain.catalog._catalog import FeatureCatalog
from explain.notices._formatting import format_date, format_money
from explain.notices._locales import html_lang, negotiate
from explain.notices._environment import template_version
from explain.notices._notices import _links, jinja_renderer
from explain.notices._profile import LenderProfile
from explain.review._errors import ReviewInputError

__all__ = ["OUTCOME_REASONS", "render_outcome_notices", "outcome_reference"]

#: The structured reasons a reviewer may give, per outcome (each phrased in templates/review_outcome/wording.j2).
OUTCOME_REASONS: dict[str, tuple[str, ...]] = {
    "upheld": ("reasons_confirmed", "facts_no_change", "policy_applied"),
    "overturned": ("facts_corrected", "circumstances_changed", "assessment_error"),
}


def check_outcome_reasons(outcome: str, codes: Sequence[str]) -> list[str]:
    """The reviewer's reasons for ``outcome``: at least one, each once, each one of :data:`OUTCOME_REASONS`."""
    allowed = OUTCOME_REASONS[outcome]
    codes = list(codes)
    if not codes or any(c not in allowed for c in codes) or len(set(codes)) != len(codes):
        raise ReviewInputError("outcome_reasons", f"one or more of {', '.join(allowed)} (each once) for {outcome!r}",
                               codes)
    return codes


def outcome_reference(review_id: str) -> str:
    """What the customer quotes about this review: the same in every locale, e.g. ``R3F9-1C07``."""
    digest = hashlib.sha256(review_id.encode("utf-8")).hexdigest().upper()
    return f"R{digest[:3]}-{digest[3:7]}"


def render_outcome_notice(inputs: Mapping[str, Any], *, locale: str, profile: LenderProfile,
                          catalog: FeatureCatalog) -> dict[str, Any]:
    """One locale's outcome notice (subject, text, html, short) from stored-form ``inputs``."""
    locale = negotiate(locale)
    currency = inputs["currency"]
    context = {
        "lender": profile.display_name(locale),
        "address": profile.address(locale),
        "account_ref": inputs["account_ref"],
        "reference": inputs["reference"],
        "notice_date": format_date(dt.date.fromisoformat(inputs["notice_date"]), locale=locale),
        "requested_date": format_date(dt.date.fromisoformat(inputs["requested_date"]), locale=locale),
        "outcome": inputs["outcome"],
        "closure_withdrawn": inputs["closure_withdrawn"],
        "suspension_lifted": inputs.get("suspension_lifted", False),
        "new_limit": format_money(Decimal(str(inputs["new_limit"])), currency, locale=locale, field="new_limit"),
        "outcome_reasons": list(inputs["outcome_reasons"]),
        "phone": profile.phone,
        "email": profile.email,
        "url": profile.url,
        "short_url": profile.short_url,
        "legal": profile.legal.context(locale, default_channel=profile.phone, sources=profile.data_sources),
        "html_lang": html_lang(locale),
        "voice": profile.voice(locale),
        "links": _links(profile, profile.legal.context(locale, default_channel=profile.phone, sources=profile.data_sources).get("complaint_channel")),
    }
    render = jinja_renderer(locale)
    parts = {part: render(f"review_outcome/{part}", context) for part in ("subject.txt", "letter.txt", "letter.html")}
    # A short message is signed with the lender's one registered SMS signature, never shortened.
    short = render("review_outcome/short.txt", {**context, "lender": profile.sms_signature(locale)}).strip()
    notice = {"subject": parts["subject.txt"].strip(), "text": parts["letter.txt"], "html": parts["letter.html"],
              "short": short, "locale": locale, "outcome": inputs["outcome"],
              "reasons": list(inputs["outcome_reasons"]), "reference": inputs["reference"],
              "template_version": template_version(locale, profile, catalog)}
    return json.loads(canonical_json(notice))


def render_outcome_notices(inputs: Mapping[str, Any], *, profile: LenderProfile,
                           catalog: FeatureCatalog) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Every locale of the decision: ``(notices by locale, their sha256 by locale)``."""
    notices = {loc: render_outcome_notice(inputs, locale=loc, profile=profile, catalog=catalog)
               for loc in inputs["locales"]}
    return notices, {loc: notice_sha256(n) for loc, n in notices.items()}
