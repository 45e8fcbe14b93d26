"""Notices: the letter, email and short message a customer reads about a limit decision.

A decision and its principal reasons become plain sentences in Simplified Chinese or English. The wording
lives in two places only: Jinja2 templates in ``templates/`` (layout, no language) and gettext catalogs in
``locales/`` (every sentence). Python formats the customer's own values through Babel and checks the inputs.

>>> from explain import render_notice, demo_bundle  # doctest: +SKIP
>>> notice = render_notice("limit_decrease", reasons, locale="zh_CN", old_limit=20000, new_limit=8000,
...                        account_ref="6222-0001", notice_date=date(2026, 12, 1))  # doctest: +SKIP
>>> print(notice.text)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from numbers import Real
from typing import Any

import jinja2
from babel.lists import format_list
from babel.numbers import is_currency
from jinja2 import Environment

from explain.notices._account_ref import check_account_ref
from explain.catalog._catalog import FeatureCatalog, advice_applies
from explain._exceptions import CatalogError, NoticeInputError, UnknownReasonError
from explain.notices._formatting import MAX_MAGNITUDE, _babel, format_date, format_money, format_value
from explain.notices._jurisdiction import CreditScore
from explain.notices._locales import html_lang, is_chinese, negotiate
from explain.notices._profile import DEMO_LENDER_DIR, LenderProfile, demo_profile
from explain.reasons._reasons import Decision, DecisionReasons, Reason
from explain.notices._environment import (
    TEMPLATES_DIR,
    Renderer,
    notice_environment,
    template_version,
    toolkit_gettext,
)

__all__ = ["CHANNELS", "Notice", "TEMPLATES_DIR", "reason_phrases", "render_notice"]

DEMO_CATALOG_PATH = DEMO_LENDER_DIR / "catalog.toml"
#: ``letter`` (post or email: subject, text, HTML) and ``short`` (SMS or app push).
CHANNELS: tuple[str, ...] = ("letter", "short")
_LETTER_PARTS = ("subject.txt", "letter.txt", "letter.html")


@dataclass(frozen=True)
class Notice:
    """One rendered notice, every part in the same locale.

    Attributes
    ----------
    subject, text, html
        The letter or email: subject line, plain-text body, HTML body.
    short
        The SMS / app-push form: one message naming the decision, the top reason and where to learn more.
    locale, channel, decision
        What was asked for; ``channel`` says which form is sent (``body`` returns it).
    reasons
        Codes of the reasons given, in order.
    reference
        The reference the customer can quote to support.
    template_version
        sha256 over the templates, the locale's compiled catalog, the lender profile and the reason catalog.
    """

    subject: str
    text: str
    html: str
    short: str
    locale: str
    channel: str
    decision: str
    reasons: tuple[str, ...]
    reference: str
    template_version: str

    @property
    def body(self) -> str:
        """What is sent on this notice's channel: the plain-text letter, or the short message."""
        return self.short if self.channel == "short" else self.text

    def to_dict(self) -> dict[str, Any]:
        # Every field is a string but the reasons' codes: a shallow copy is what asdict's deep copy gave.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["reasons"] = list(self.reasons)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, indent=2)


@functools.lru_cache(maxsize=1)
def _demo_catalog() -> FeatureCatalog:
    return FeatureCatalog.from_toml(DEMO_CATALOG_PATH)


# ------------------------------------------------------------------------------------------------ reasons
def _phrase_fields(reason: Reason, catalog: FeatureCatalog) -> tuple[str, Any]:
    """The catalog entry behind a reason, and its gettext context prefix."""
    if reason.source == "policy":
        return f"policy:{reason.code}", catalog.policy_reason(reason.code)
    if reason.source == "model":
        try:
            return f"groups:{reason.code}", catalog.groups[reason.code]
        except KeyError:
            raise UnknownReasonError(reason.code, sorted(catalog.groups)) from None
    raise NoticeInputError(f"source of reason {reason.code!r}", "'policy' or 'model'", reason.source)


def reason_phrases(
    reason: Reason, *, locale: str, catalog: FeatureCatalog | None = None, currency: str = "CNY"
) -> dict[str, Any]:
    """One reason as the customer reads it, in ``locale``.

    Returns ``label``, ``text`` (the adverse or favourable phrase with ``{value}`` replaced by the customer's
    own value, formatted by its kind), ``value`` (that value alone, or None), ``short`` (the short message's
    phrase: the catalog's ``short``, the value when it is the whole clause, else label and value; money without
    decimals when whole), ``advice`` (:func:`reason_advice`) and ``counter_intuitive``. The phrase is the shown feature's own when the
    catalog gives it one, else the group's. Advice is given only for an actionable reason whose value meets
    the advice's ``advice_when``; a counter-intuitive reason gets a neutral sentence naming the factor and the
    value, and no advice. Protected groups are phrased here too (for review), but a notice refuses them.
    """
    catalog = catalog or _demo_catalog()
    locale = negotiate(locale)
    _ = toolkit_gettext(locale)
    prefix, entry = _phrase_fields(reason, catalog)
    if reason.effect not in ("adverse", "favourable"):
        raise NoticeInputError(f"effect of reason {reason.code!r}", "'adverse' or 'favourable'", reason.effect)
    feature = reason.feature or getattr(entry, "display", None)
    spec = catalog.features.get(feature) if reason.source == "model" and feature is not None else None
    if reason.source == "model" and feature is not None and spec is None:
        raise CatalogError(f"feature {feature!r}", "is not in the catalog")
    own = spec is not None and getattr(spec, reason.effect) is not None
    source_prefix, source = (f"features:{feature}", spec) if own else (prefix, entry)
    message = getattr(source, reason.effect)
    if message is None:
        raise NoticeInputError(
            f"effect of reason {reason.code!r}", "'adverse' (the catalog has no favourable phrase for it)",
            reason.effect,
        )
    label = catalog.phrase(f"{prefix}:label", entry.label, locale=locale)
    shown = None
    if reason.value is not None and spec is not None:
        shown = format_value(reason.value, spec.kind, locale=locale, currency=currency, feature=feature,
                             catalog=catalog, field=f"features.{feature}")
    elif "{value}" in message:
        # The reason shows the customer's own value; name the input that lacks it, as the caller spelled it.
        field = f"features.{feature}" if feature is not None else f"value of reason {reason.code!r}"
        raise NoticeInputError(field, f"a value: the reason {reason.code!r} shows it to the customer", None)
    compact = shown
    if shown is not None and spec is not None and spec.kind == "money":
        compact = format_value(reason.value, spec.kind, locale=locale, currency=currency, feature=feature,
                               catalog=catalog, field=f"features.{feature}", compact=True)
    short = _("%(label)s (%(value)s)") % {"label": label, "value": compact} if shown is not None else label
    short_prefix, short_source = (f"features:{feature}", spec) if spec is not None and spec.short else (prefix, entry)
    if getattr(short_source, "short", None):
        short = catalog.phrase(f"{short_prefix}:short", short_source.short, locale=locale)
        if "{value}" in short:
            short = short.replace("{value}", compact) if compact is not None else label
    elif shown is not None and message.strip().rstrip(".") == "{value}":
        short = shown  # the value is itself the sentence's clause ("Your savings with us are very low")
    if reason.counter_intuitive:
        # A list item under "also took these into account": the fact, no verdict and no advice. A category
        # whose phrase is a whole clause is that clause; anything else is the factor and its value.
        if shown is not None and message.strip().rstrip(".") == "{value}":
            text = shown + ("。" if is_chinese(locale) else ".")
        else:
            text = _("%(label)s (%(value)s)") % {"label": label, "value": shown} if shown is not None else label
        return {"label": label, "text": text, "value": shown, "short": short, "advice": None, "counter_intuitive": True}
    text = catalog.phrase(f"{source_prefix}:{reason.effect}", message, locale=locale)
    if shown is not None:
        text = text.replace("{value}", shown)
    advice = reason_advice(reason, catalog=catalog, locale=locale)
    return {"label": label, "text": text, "value": shown, "short": short, "advice": advice, "counter_intuitive": False}


def reason_advice(reason: Reason, *, catalog: FeatureCatalog, locale: str) -> str | None:
    """The catalog's advice for one reason, only where it can apply: an actionable reason whose shown value
    meets the advice's ``advice_when`` (not a customer whose value is already the good one). The decision's
    own rule (none on a closure) is :func:`select_advice`'s."""
    prefix, entry = _phrase_fields(reason, catalog)
    feature = reason.feature or getattr(entry, "display", None)
    spec = catalog.features.get(feature) if reason.source == "model" and feature is not None else None
    advice_prefix, advice_source = (f"features:{feature}", spec) if spec is not None and spec.advice else (prefix, entry)
    when = getattr(advice_source, "advice_when", None)
    if reason.actionable and advice_source.advice and advice_applies(when, reason.value):
        return catalog.phrase(f"{advice_prefix}:advice", advice_source.advice, locale=locale)
    return None


def select_advice(decision: Decision, principal: Sequence[dict[str, Any]]) -> list[str]:
    """What the letter's "what you can do" lists: each principal reason's advice, once, on a decrease, a
    declined increase or a suspension of increases (what helps them resume); none on an increase (nothing to
    do) or a closure (no account left to act on).

    The one place a notice's advice is chosen, so a verified "what would change this" line can replace it."""
    if decision not in (Decision.LIMIT_DECREASE, Decision.INCREASE_DECLINED, Decision.INCREASES_SUSPENDED):
        return []
    return list(dict.fromkeys(p["advice"] for p in principal if p["advice"]))


# ------------------------------------------------------------------------------------------- short message
#: One message: an SMS of 70 UCS-2 characters in Chinese, 160 GSM-7 septets in English.
SHORT_MESSAGE_LIMITS = {"zh_CN": 70, "en": 160, "zh_HK": 70, "zh_TW": 70}
# GSM 03.38: the basic alphabet costs one septet a character, the extension table two.
_GSM7_EXTENSION = frozenset("^{}\\[~]|€")


def short_message_length(text: str, locale: str) -> int:
    """What ``text`` costs against :data:`SHORT_MESSAGE_LIMITS`: characters, or GSM-7 septets in English."""
    if locale == "en":
        return sum(2 if c in _GSM7_EXTENSION else 1 for c in text)
    return len(text)


#: How a short message is shortened until it fits one SMS, in this order and cumulatively: the date without
#: the year, whole amounts without decimals, the compact pointer to the details, then the reason's short
#: phrase (its label and the customer's value) instead of its sentence, and last, on an increase only, the
#: pointer to the details (an adverse message always says where to ask for a review). The signature, the
#: decision, the limit, the date and the reason's value are never dropped.
_SHORTER = ("short_date", "short_money", "short_compact", "short_phrase", "short_no_details")
#: An adverse message keeps "human review" in its pointer longest: first the pointer loses only "Details"
#: (``short_review``), then the reason's full sentence gives way to the catalog's short phrase, and only then
#: does the pointer become "Info". The right to ask for a review is what a customer most needs from a
#: message that takes something away; the letter names the reason in full.
_SHORTER_ADVERSE = ("short_date", "short_money", "short_review", "short_phrase", "short_compact", "short_no_details")


def _short_message(render: Renderer, decision: Decision, context: dict[str, Any], profile: LenderProfile,
                   locale: str) -> str:
    """The one-message form: signature, decision, limit (not for a closure), date, the main reason and where
    the details are; shortened (:data:`_SHORTER`) until it fits :data:`SHORT_MESSAGE_LIMITS`."""
    name = f"{decision.value}/short.txt"
    limit = SHORT_MESSAGE_LIMITS[locale]
    long = {"short_date": context["effective_date"], "short_new": context["new_limit"],
            "short_old": context["old_limit"], "short_reason": context["short_reason"], "short_review": False,
            "short_compact": False, "short_details": True}
    tried = render(name, {**context, **long}).strip()
    if short_message_length(tried, locale) <= limit:
        return tried
    shorter = dict(long)
    for step in _SHORTER_ADVERSE if decision.is_adverse else _SHORTER:
        if step == "short_date":
            shorter["short_date"] = context["effective_date_short"]
        elif step == "short_money":
            shorter["short_new"], shorter["short_old"] = context["new_limit_short"], context["old_limit_short"]
        elif step in ("short_review", "short_compact"):
            shorter[step] = True
        elif step == "short_phrase":
            if context["short_phrase"] is None:
                continue
            shorter["short_reason"] = context["short_phrase"]
        elif decision.is_adverse:
            break
        else:
            shorter["short_details"] = False
        tried = render(name, {**context, **shorter}).strip()
        if short_message_length(tried, locale) <= limit:
            return tried
    raise NoticeInputError("profile", f"a signature and contact short enough for a {limit}-character message that "
                                      "keeps the decision, limit, date and reason", tried)


def _sentence_in_message(text: str | None, locale: str) -> str | None:
    """A reason's sentence (or phrase) inside a short message: no closing stop; in English a capital that
    only began the sentence is lowered ("Your ..." reads "your ..." after "Main reason:")."""
    if text is None:
        return None
    text = text.strip().rstrip("。.")
    first = text.split(" ", 1)[0]
    if locale == "en" and first[:1].isupper() and (len(first) == 1 or first[1:].islower()):
        text = text[0].lower() + text[1:]
    return text


def _short_money(amount: Decimal, currency: str, locale: str) -> str:
    """An amount without decimals when it is whole (``¥8,000``), for a short message that must shrink."""
    return _short_money_text(str(amount), currency, locale)


@functools.lru_cache(maxsize=4096)
def _short_money_text(amount_text: str, currency: str, locale: str) -> str:
    """:func:`_short_money` by the amount's text (the same text is the same amount, and the same words)."""
    amount = Decimal(amount_text)
    if amount != amount.to_integral_value():
        return format_money(amount, currency, locale=locale)
    return format_money(amount, currency, locale=locale, whole=True)


def _data_sources(profile: LenderProfile, locale: str) -> str:
    """The profile's declared data sources as one list in ``locale`` ("your application and ...")."""
    _ = toolkit_gettext(locale)
    names = {"application": _("the information in your application"),
             "account": _("how you have used your account with us"),
             "credit_report": _("your credit report")}
    voice = profile.voice(locale)
    return format_list([names[s].replace("{voice}", voice) for s in profile.data_sources], locale=_babel(locale))


def _links(profile: LenderProfile, complaint_channel: str | None) -> tuple[tuple[str, str], ...]:
    """(text, href) of each contact the HTML letter makes a link: phone(s) as ``tel:``, email, web address."""
    def tel(number: str) -> str:
        return "tel:" + "".join(c for c in number if c.isdigit() or c == "+")

    links = [(profile.phone, tel(profile.phone)), (profile.email, f"mailto:{profile.email}")]
    if complaint_channel and complaint_channel != profile.phone and any(c.isdigit() for c in complaint_channel) \
            and all(c.isdigit() or c in "+-() " for c in complaint_channel):
        links.append((complaint_channel, tel(complaint_channel)))
    if profile.url.startswith(("https://", "http://")):
        links.append((profile.url, profile.url))
    return tuple(links)


# ------------------------------------------------------------------------------------------------ inputs
def _amount(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Real | Decimal):
        raise NoticeInputError(field, "an amount of money (a number)", value)
    if isinstance(value, float) and not math.isfinite(value):
        raise NoticeInputError(field, "a finite amount", value)
    if value < 0:
        raise NoticeInputError(field, "zero or more", value)
    if value >= MAX_MAGNITUDE:
        raise NoticeInputError(field, f"an amount below {MAX_MAGNITUDE:.0e}", value)
    return Decimal(str(value)) if not isinstance(value, Decimal) else value


def _check_limits(decision: Decision, old: Decimal, new: Decimal, got: Any) -> None:
    if decision is Decision.LIMIT_DECREASE and not new < old:
        raise NoticeInputError("new_limit", f"below the old limit ({old}) for a limit_decrease", got)
    if decision is Decision.LIMIT_INCREASE and not new > old:
        raise NoticeInputError("new_limit", f"above the old limit ({old}) for a limit_increase", got)
    if decision is Decision.INCREASE_DECLINED and not new > old:
        raise NoticeInputError(
            "new_limit", f"the requested limit, above the old limit ({old}), for an increase_declined", got
        )
    if decision is Decision.ACCOUNT_CLOSURE and new != 0:
        raise NoticeInputError("new_limit", "0 for an account_closure", got)
    if decision is Decision.INCREASES_SUSPENDED and new > old:
        raise NoticeInputError(
            "new_limit", f"the old limit ({old}) to keep it, or a lower one to lower it too, for an increases_suspended "
                         "(never more: no increase is given)", got)
    if decision is Decision.INCREASES_SUSPENDED and new == 0:
        raise NoticeInputError("new_limit", "above 0 for an increases_suspended (a limit of 0 is an account_closure)",
                               got)


def _review_date(value: Any, decision: Decision, notice_date: _dt.date) -> _dt.date | None:
    """The date a suspension will be looked at again: only on a suspension, and after the notice date."""
    if value is None:
        return None
    if decision is not Decision.INCREASES_SUSPENDED:
        raise NoticeInputError("review_date", f"nothing for a {decision.value} (only an increases_suspended has one)",
                               value.isoformat() if isinstance(value, _dt.date) else value)
    value = _date(value, "review_date")
    if value <= notice_date:
        raise NoticeInputError("review_date", f"after the notice date ({notice_date.isoformat()})", value.isoformat())
    return value


#: The dates a notice may carry: wide enough for any real letter, narrow enough that adding a notice period
#: never overflows the calendar (the service bounds its date fields the same way).
MIN_NOTICE_DATE = _dt.date(1900, 1, 1)
MAX_NOTICE_DATE = _dt.date(2999, 12, 31)


def _date(value: Any, field: str) -> _dt.date:
    if isinstance(value, _dt.datetime) or not isinstance(value, _dt.date):
        raise NoticeInputError(field, "a date (datetime.date)", value)
    if not MIN_NOTICE_DATE <= value <= MAX_NOTICE_DATE:
        raise NoticeInputError(field, f"a date from {MIN_NOTICE_DATE.isoformat()} to {MAX_NOTICE_DATE.isoformat()}",
                               value.isoformat())
    return value


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or any(ord(c) < 32 for c in value):
        raise NoticeInputError(field, "a non-empty single-line string", value)
    return value.strip()


@functools.lru_cache(maxsize=4096)
def _day_month(value: _dt.date, locale: str) -> str:
    """A date without its year (``12月31日``, ``Dec 31``): the first thing a short message gives up."""
    from babel.dates import format_skeleton

    return format_skeleton("MMMd", value, locale=_babel(locale))


def _score_factor(texts: Any, locale: str, index: int) -> str:
    """One key factor of the bureau's score in ``locale``: the bureau's words, never another language's."""
    if locale not in texts:
        raise NoticeInputError(f"bureau.key_factors[{index}]", f"a text in {locale} for a notice in {locale}",
                               dict(texts))
    return texts[locale]


def _reference(*parts: object) -> str:
    """A short reference derived from the inputs, the same in every locale: e.g. ``3F9A-1C07``."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest().upper()
    return f"{digest[:4]}-{digest[4:8]}"


# ------------------------------------------------------------------------------------------------ render
def render_notice(
    decision: Decision | str,
    reasons: DecisionReasons | Sequence[Reason],
    *,
    locale: str,
    channel: str = "letter",
    profile: LenderProfile | None = None,
    catalog: FeatureCatalog | None = None,
    old_limit: Any,
    new_limit: Any,
    account_ref: str,
    currency: str | None = None,
    notice_date: _dt.date | None = None,
    effective_date: _dt.date | None = None,
    reference: str | None = None,
    bureau: CreditScore | dict[str, Any] | None = None,
    recourse: Any = None,
    review_date: _dt.date | None = None,
) -> Notice:
    """Write the notice for one decision and its principal reasons.

    Parameters
    ----------
    decision
        ``limit_increase``, ``limit_decrease``, ``account_closure``, ``increase_declined`` or
        ``increases_suspended``.
    reasons
        A :class:`~explain.DecisionReasons` (its decision must match) or a sequence of :class:`~explain.Reason`,
        in the order given to the customer; at most the catalog's ``top``. Adverse decisions need at least one.
    locale
        ``zh_CN`` or ``en`` (``zh-CN``, ``zh``, ``zh-Hans``, ``en-US`` are accepted).
    channel
        ``letter`` or ``short``: which part :attr:`Notice.body` returns. Every part is always rendered.
    profile
        The lender who signs the notice (a bundle's ``bundle.profile``). Required with a ``catalog``; only
        when both are left out is the demo bundle's catalog and profile used.
    catalog
        The reason catalog the reasons come from, with its translations (a bundle's ``bundle.catalog``).
    old_limit, new_limit
        The limit before and after, in ``currency`` (default: the profile's ``[lender] currency``, CNY unless
        it says otherwise: HKD for a Hong Kong lender, TWD for a Taiwan one). For ``increase_declined``
        ``new_limit`` is the limit the customer asked for; for ``account_closure`` it is 0; for
        ``increases_suspended`` it is the old limit when the limit is kept, a lower one (above 0) when it is
        lowered too.
    account_ref
        The account as the customer knows it (e.g. the last digits of the card).
    notice_date
        The date on the notice (default: today).
    effective_date
        When the decision takes effect (default: ``notice_date`` plus the profile's notice period for a
        decrease, a closure or a suspension that also lowers the limit; ``notice_date`` otherwise).
    reference
        What the customer quotes to support (default: derived from the inputs, the same in every locale).
    bureau
        The credit score the decision used (a :class:`~explain.notices._jurisdiction.CreditScore` or the
        decision's bureau fields ``bureau_score``, ``range``, ``date``, ``key_factors``): required when the
        profile says ``bureau_data = true`` (US), refused otherwise.
    recourse
        An :class:`~explain.recourse.Recourse` for this account and decision: a "what would change this" line per
        verified suggestion (in place of the catalog's static advice), or the pointer to human review when the
        search proved none exists.
    review_date
        ``increases_suspended`` only: the date after which the lender will look at the account again (after
        ``notice_date``). Left out, the notice promises no date.

    Raises
    ------
    UnknownDecisionError, UnknownReasonError, UnsupportedLocaleError, NoticeInputError, CatalogError
    """
    letter = check_letter(
        decision, reasons, locale=locale, channel=channel, profile=profile, catalog=catalog, old_limit=old_limit,
        new_limit=new_limit, account_ref=account_ref, currency=currency, notice_date=notice_date,
        effective_date=effective_date, reference=reference, bureau=bureau, recourse=recourse, review_date=review_date,
    )
    return write_notice(letter, jinja_renderer(letter.locale))


@dataclass(frozen=True)
class Letter:
    """One notice's checked inputs and the context its templates are rendered with."""

    decision: Decision
    locale: str
    channel: str
    profile: LenderProfile
    catalog: FeatureCatalog
    codes: tuple[str, ...]
    reference: str
    context: dict[str, Any]


def check_letter(
    decision: Decision | str,
    reasons: DecisionReasons | Sequence[Reason],
    *,
    locale: str,
    channel: str = "letter",
    profile: LenderProfile | None = None,
    catalog: FeatureCatalog | None = None,
    old_limit: Any,
    new_limit: Any,
    account_ref: str,
    currency: str | None = None,
    notice_date: _dt.date | None = None,
    effective_date: _dt.date | None = None,
    reference: str | None = None,
    bureau: CreditScore | dict[str, Any] | None = None,
    recourse: Any = None,
    review_date: _dt.date | None = None,
) -> Letter:
    """Everything :func:`render_notice` checks and phrases before a template runs (same arguments)."""
    decision = Decision.parse(decision)
    locale = negotiate(locale)
    if channel not in CHANNELS:
        raise NoticeInputError("channel", f"one of {', '.join(map(repr, CHANNELS))}", channel)
    if profile is None and catalog is not None:
        raise NoticeInputError("profile", "the lender's profile that signs the notice (bundle.profile)", None)
    profile = profile or demo_profile()
    if not isinstance(profile, LenderProfile):
        raise NoticeInputError("profile", "a LenderProfile", type(profile).__name__)
    if profile.phrases is None:
        raise NoticeInputError("profile", "a profile loaded with its translations (translations/<locale>.po)",
                               profile.name)
    catalog = catalog or _demo_catalog()
    catalog.phrasebook()  # a catalog without translations fails here, before anything is rendered
    if isinstance(reasons, DecisionReasons):
        if reasons.decision is not decision:
            expected = f"the decision the reasons were chosen for ({reasons.decision.value!r})"
            raise NoticeInputError("decision", expected, decision.value)
        reasons = reasons.reasons
    reasons = tuple(reasons)
    if not all(isinstance(r, Reason) for r in reasons):
        raise NoticeInputError("reasons", "a DecisionReasons or a sequence of Reason", reasons)
    if decision.is_adverse and not reasons:
        raise NoticeInputError("reasons", f"at least one reason for a {decision.value}", "no reasons")
    if len(reasons) > catalog.top:
        raise NoticeInputError("reasons", f"at most {catalog.top} principal reasons (the catalog's top)", len(reasons))
    if len({r.code for r in reasons}) != len(reasons):
        raise NoticeInputError("reasons", "each reason once", [r.code for r in reasons])
    wanted = "adverse" if decision.is_adverse else "favourable"
    for reason in reasons:
        _phrase_fields(reason, catalog)  # unknown policy reason / group codes fail first, by name
        if reason.source == "model" and catalog.groups[reason.code].protected:
            raise NoticeInputError("reasons", "no protected group (it may never be given as a reason)", reason.code)
        if reason.effect != wanted:
            raise NoticeInputError(
                f"effect of reason {reason.code!r}", f"{wanted!r} for a {decision.value}", reason.effect
            )

    old = _amount(old_limit, "old_limit")
    new = _amount(new_limit, "new_limit")
    _check_limits(decision, old, new, new_limit if not isinstance(new_limit, Decimal) else str(new_limit))
    currency = _text(profile.currency if currency is None else currency, "currency").upper()
    if not is_currency(currency):
        raise NoticeInputError("currency", "an ISO 4217 currency code Babel knows, such as 'CNY'", currency)
    account_ref = check_account_ref(account_ref)
    notice_date = _date(notice_date if notice_date is not None else _dt.date.today(), "notice_date")
    # A suspension that also lowers the limit takes something away on a date, like a decrease.
    lowered = decision in (Decision.LIMIT_DECREASE, Decision.ACCOUNT_CLOSURE) or (
        decision is Decision.INCREASES_SUSPENDED and new < old)
    if effective_date is None:
        days = profile.notice_period_days if lowered else 0
        effective_date = notice_date + _dt.timedelta(days=days)  # bounded notice date: cannot overflow
    else:
        effective_date = _date(effective_date, "effective_date")
    if effective_date < notice_date:
        expected = f"on or after the notice date ({notice_date.isoformat()})"
        raise NoticeInputError("effective_date", expected, effective_date.isoformat())
    review_date = _review_date(review_date, decision, notice_date)
    codes = tuple(r.code for r in reasons)
    if reference is None:
        # The review date joins the inputs only when given: every other notice keeps its reference.
        dated = (f"review:{review_date.isoformat()}",) if review_date is not None else ()
        reference = _reference(profile.name, account_ref, decision.value, old, new, currency,
                               notice_date.isoformat(), effective_date.isoformat(), *codes, *dated)
    reference = _text(reference, "reference")
    deadline = notice_date + _dt.timedelta(days=profile.review_window_days)

    if profile.legal.bureau_data:
        if bureau is None:
            raise NoticeInputError("bureau", "the decision's bureau fields (bureau_score, range, date, key_factors): "
                                             "the profile says bureau_data = true", None)
        score = CreditScore.parse(bureau)
    elif bureau is not None:
        raise NoticeInputError("bureau", "nothing: the profile does not say bureau_data = true", "given")
    else:
        score = None

    phrased = [reason_phrases(r, locale=locale, catalog=catalog, currency=currency) for r in reasons]
    principal = [p for p in phrased if not p["counter_intuitive"]]
    money = {"old_limit": format_money(old, currency, locale=locale, field="old_limit"),
             "new_limit": format_money(new, currency, locale=locale, field="new_limit"),
             "old_limit_short": _short_money(old, currency, locale), "new_limit_short": _short_money(new, currency, locale)}
    legal = profile.legal.context(locale, default_channel=profile.phone, sources=profile.data_sources,
                                  kind=decision.value)
    top = phrased[0] if phrased else None
    short_phrase = _sentence_in_message(top["short"], locale) if top else None
    context = {
        "lender": profile.display_name(locale),
        "voice": profile.voice(locale),
        "signature": profile.sms_signature(locale),
        "address": profile.address(locale),
        "account_ref": account_ref,
        "reference": reference,
        "notice_date": format_date(notice_date, locale=locale, field="notice_date"),
        "effective_date": format_date(effective_date, locale=locale, field="effective_date"),
        "effective_date_short": _day_month(effective_date, locale),
        "deadline": format_date(deadline, locale=locale),
        "adverse": decision.is_adverse,
        "kind": decision.value,
        "principal": principal,
        "weighed": [p for p in phrased if p["counter_intuitive"]],
        "short_reason": _sentence_in_message(top["text"], locale) if top else None,
        "short_phrase": short_phrase,
        "short_date": None, "short_new": None, "short_old": None, "short_review": False, "short_compact": False,
        "short_details": True,
        "details": profile.details_channel(decision.is_adverse),
        "app": profile.app_names.get(locale),
        "advice": select_advice(decision, principal),
        "apply_again": decision is Decision.INCREASE_DECLINED and profile.advice_style == "apply_again",
        "sources": _data_sources(profile, locale),
        "overdue": "overdue_repayment" in codes,
        "review_holds": profile.review_holds and lowered,
        "limit_lowered": new < old,
        "review_date": format_date(review_date, locale=locale, field="review_date") if review_date else None,
        "phone": profile.phone,
        "email": profile.email,
        "url": profile.url,
        "short_url": profile.short_url,
        "links": _links(profile, legal.get("complaint_channel")),
        "review_days": profile.review_window_days,
        "legal": legal,
        "score_value": str(score.score) if score else None,
        "score_low": str(score.low) if score else None,
        "score_high": str(score.high) if score else None,
        "score_date": format_date(score.date, locale=locale, field="bureau.date") if score else None,
        "score_factors": [_score_factor(f, locale, i) for i, f in enumerate(score.key_factors)] if score else [],
        "jurisdiction": profile.wording_text("jurisdiction", locale=locale) if "jurisdiction" in profile.wording else None,
        "escalation": profile.wording_text("escalation", locale=locale) if "escalation" in profile.wording else None,
        "html_lang": html_lang(locale),
        **money,
    }
    context.update(_recourse_context(recourse, decision, locale=locale, catalog=catalog, currency=currency))
    return Letter(decision=decision, locale=locale, channel=channel, profile=profile, catalog=catalog, codes=codes,
                  reference=reference, context=context)


def _recourse_context(recourse: Any, decision: Decision, *, locale: str, catalog: FeatureCatalog,
                      currency: str) -> dict[str, Any]:
    """The "what would change this" lines; where there is one, it takes the place of the static advice."""
    from explain.recourse._wording import recourse_lines, review_line

    if recourse is None:
        return {"recourse_lines": [], "recourse_review": None}
    if recourse.decision != decision.value:
        raise NoticeInputError("recourse", f"recourse for this decision ({decision.value!r})", recourse.decision)
    lines = recourse_lines(recourse, locale=locale, catalog=catalog, currency=currency)
    context: dict[str, Any] = {"recourse_lines": lines, "recourse_review": review_line(recourse, locale=locale)}
    if lines:
        context["advice"] = []
    return context


def jinja_renderer(locale: str, environment: Environment | None = None) -> Renderer:
    """Render through the locale's Jinja environment (templates compiled once, on first use), or through
    ``environment``, an overlay of it."""
    env = environment or notice_environment(locale)

    def render(name: str, context: dict[str, Any]) -> str:
        try:
            template = env.get_template(name)
        except jinja2.TemplateNotFound as exc:
            raise CatalogError(f"template {exc.name!r}", f"is missing from {TEMPLATES_DIR}") from exc
        return template.render(context)

    return render


def write_notice(letter: Letter, render: Renderer) -> Notice:
    """The notice's parts from ``render``: subject, plain-text and HTML letter, short message."""
    kind = letter.decision.value
    rendered = {part: render(f"{kind}/{part}", letter.context) for part in _LETTER_PARTS}
    short = _short_message(render, letter.decision, letter.context, letter.profile, letter.locale)
    return Notice(
        subject=rendered["subject.txt"].strip(),
        text=rendered["letter.txt"],
        html=rendered["letter.html"],
        short=short,
        locale=letter.locale,
        channel=letter.channel,
        decision=kind,
        reasons=letter.codes,
        reference=letter.reference,
        template_version=template_version(letter.locale, letter.profile, letter.catalog),
    )
