"""The lender's side of a notice: its name, how customers reach it, and the wording its lawyers chose.

A notice must say who decided, how to ask for an explanation and a human review, and by when. Those facts
belong to the lender, not to the toolkit, so they live in a small TOML profile in the lender's own folder,
with the translations of its wording beside it (``translations/<locale>.po``), and travel in its bundle;
:func:`demo_profile` is the demo bundle's neutral one.
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from explain._exceptions import NoticeInputError
from explain.catalog._i18n_extract import toml_phrases
from explain.notices._jurisdiction import LegalDetails
from explain.notices._locales import BASE_LOCALES, SUPPORTED_LOCALES, is_chinese, negotiate
from explain.catalog._phrasebook import TRANSLATIONS_DIR, Phrasebook

__all__ = ["DEMO_LENDER_DIR", "DEMO_PROFILE_PATH", "LenderProfile", "demo_profile"]

#: The demo lender's folder: catalog.toml, profile.toml and translations/<locale>.po, as a lender keeps its own.
DEMO_LENDER_DIR = Path(__file__).resolve().parents[1] / "data" / "demo_lender"
DEMO_PROFILE_PATH = DEMO_LENDER_DIR / "profile.toml"

#: Keys of ``[wording]``: English msgids with gettext context ``profile:wording:<key>``.
WORDING_KEYS: tuple[str, ...] = ("jurisdiction", "escalation")
#: ``[contact] short_details``: how a short message points to the details (default: phone for an adverse
#: decision, which does not read like a phishing link, and the link for an increase).
SHORT_DETAILS: tuple[str, ...] = ("link", "app", "phone")
#: ``[lender] data_sources``: what the automated decision used, named in "how we made this decision".
DATA_SOURCES: tuple[str, ...] = ("application", "account", "credit_report")
#: ``[review] advice``: how the advice is introduced (``apply_again``: "if you apply again" on a declined increase).
ADVICE_STYLES: tuple[str, ...] = ("help", "apply_again")
#: The voice of a Chinese letter when the profile sets none; English letters always speak as "we".
DEFAULT_VOICE = {"zh_CN": "我行", "en": "we", "zh_HK": "本行", "zh_TW": "本行"}
_SIGNATURE_CHARS = frozenset("【】[]%{}")

#: The keys each profile table may hold; anything else is refused, naming the nearest valid key. One list per
#: table: a new profile setting is one word here and its reading in ``from_dict``. ``[legal]`` is checked per
#: jurisdiction (:mod:`explain.notices._jurisdiction`), ``[wording]`` against :data:`WORDING_KEYS`, and the
#: per-locale tables (``[lender.names]`` ...) by locale.
PROFILE_TABLES: dict[str, tuple[str, ...]] = {
    "": ("lender", "contact", "review", "legal", "wording"),
    "lender": ("name", "names", "jurisdiction", "address", "voice", "sms_signature", "data_sources", "currency"),
    "contact": ("phone", "email", "url", "short_url", "short_details", "app"),
    # holds_decision, second_reviewer_above and reply_days are read by explain.review's policy as well
    "review": ("window_days", "notice_period_days", "holds_decision", "advice", "second_reviewer_above", "reply_days"),
}


def check_profile_keys(data: Mapping[str, Any]) -> None:
    """Refuse a table or key the profile does not define, naming it and the nearest valid name."""
    from explain._strict import nearest

    for table, allowed in PROFILE_TABLES.items():
        values = data.get(table, {}) if table else data
        if not isinstance(values, Mapping):
            raise NoticeInputError(f"profile [{table}]", "a table", values)
        unknown = sorted(str(k) for k in set(values) - set(allowed))
        if unknown:
            guess = nearest(unknown[0], allowed)
            where = f"[{table}]" if table else "the top level"
            raise NoticeInputError(
                f"profile {table + '.' if table else ''}{unknown[0]}",
                f"a key {where} defines{f' (did you mean {guess!r}?)' if guess else ''}: one of "
                f"{', '.join(sorted(allowed))}", unknown[0])


def wording_context(key: str) -> str:
    """The gettext context of one ``[wording]`` entry."""
    return f"profile:wording:{key}"


@dataclass(frozen=True)
class LenderProfile:
    """Who sends the notice and how the customer can answer it.

    Attributes
    ----------
    name
        The lender's name, used where ``names`` has no entry for the locale.
    names
        The name customers know in each locale (``{"zh_CN": "示例银行"}``).
    phone, email, url
        Where to ask for an explanation or a human review.
    short_url
        A short address for the SMS/push form.
    voices
        How the lender refers to itself in a Chinese letter (``[lender] voice``: 我行, 我司, 本公司 ...); English
        letters say "we".
    sms_signatures
        The registered SMS signature (短信签名) per locale, on every short message and never shortened; required
        for ``zh_CN`` (the gateway rejects any other), the lender's name in English by default.
    short_details, app_names
        How a short message points to the details: ``link``, ``app`` (``app_names``: the app as customers
        know it) or ``phone``; by default the phone for an adverse decision and the link for an increase.
    data_sources
        What the automated decision used (``application``, ``account``, ``credit_report``).
    review_holds
        Whether an adverse change waits while a requested review is pending (``[review] holds_decision``).
    advice_style
        ``help`` or ``apply_again`` (a declined increase's advice introduced as "if you apply again").
    currency
        The ISO 4217 code of the lender's limits (``[lender] currency``: ``HKD`` for a Hong Kong lender, ``TWD``
        for a Taiwan one); what a decision that names no currency is in. ``CNY`` when left out.
    review_window_days
        How many days after the notice date the customer can ask for a review.
    notice_period_days
        Default days between the notice and a decrease or closure taking effect.
    wording
        Jurisdiction wording (English msgids, translated in the lender's ``translations/<locale>.po``).
    phrases
        The translations of ``wording``; required to word a notice.
    """

    name: str
    phone: str
    email: str
    url: str
    short_url: str
    review_window_days: int = 30
    notice_period_days: int = 30
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    wording: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    legal: LegalDetails = field(default_factory=LegalDetails.cn_default)
    addresses: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    voices: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    sms_signatures: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    short_details: str | None = None
    app_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    data_sources: tuple[str, ...] = ("account",)
    review_holds: bool = False
    advice_style: str = "help"
    currency: str = "CNY"
    source: str = field(default="", repr=False, compare=False)
    phrases: Phrasebook | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key in ("name", "phone", "email", "url", "short_url"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise NoticeInputError(f"profile {key}", "a non-empty string", value)
        for key in ("review_window_days", "notice_period_days"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 366:
                raise NoticeInputError(f"profile {key}", "a whole number of days from 0 to 366", value)
        if self.review_window_days < 1:
            raise NoticeInputError("profile review_window_days", "at least 1 day", self.review_window_days)
        names = self._per_locale(self.names, "name", "[lender.names]")
        voices = self._per_locale(self.voices, "voice", "[lender] voice")
        if voices.get("en", "we") != "we" or any(set(v) & _SIGNATURE_CHARS for v in voices.values()):
            raise NoticeInputError("profile lender.voice", "how the lender says 'we' in Chinese (我行, 我司, 本公司 ...); "
                                                           "English letters always say 'we'", dict(voices))
        signatures = self._per_locale(self.sms_signatures, "sms_signature", "[lender] sms_signature")
        # Mainland gateways send nothing without the registered signature; Hong Kong and Taiwan have no such rule.
        if "zh_CN" not in signatures and self.legal.jurisdiction not in ("HK", "TW"):
            raise NoticeInputError("profile lender.sms_signature", "the registered SMS signature (短信签名) for zh_CN: "
                                                                   "Chinese gateways send no message without it", None)
        bad = [v for v in signatures.values() if set(v) & _SIGNATURE_CHARS or len(v) > 30]
        if bad:
            raise NoticeInputError("profile lender.sms_signature", "the signature itself, without brackets, at most 30 "
                                                                   "characters", bad[0])
        if self.short_details is not None and self.short_details not in SHORT_DETAILS:
            raise NoticeInputError("profile contact.short_details", f"one of {', '.join(SHORT_DETAILS)}",
                                   self.short_details)
        app_names = self._per_locale(self.app_names, "app", "[contact] app")
        if self.short_details == "app" and not set(BASE_LOCALES) <= set(app_names):
            raise NoticeInputError("profile contact.app", "the app's name in every locale (short_details = \"app\")",
                                   dict(app_names))
        sources = self.data_sources
        if (isinstance(sources, str) or not isinstance(sources, tuple | list) or not sources
                or not set(sources) <= set(DATA_SOURCES) or len(set(sources)) != len(sources)):
            raise NoticeInputError("profile lender.data_sources", f"a list of {', '.join(DATA_SOURCES)} (each once)",
                                   sources)
        sources = tuple(s for s in DATA_SOURCES if s in sources)
        if self.legal.bureau_data and "credit_report" not in sources:
            sources += ("credit_report",)
        self.legal.check_sources(sources)
        object.__setattr__(self, "data_sources", sources)
        if not isinstance(self.review_holds, bool):
            raise NoticeInputError("profile review.holds_decision", "true or false", self.review_holds)
        from babel.numbers import is_currency

        if not isinstance(self.currency, str) or self.currency != self.currency.upper() or not is_currency(self.currency):
            raise NoticeInputError("profile lender.currency", "an ISO 4217 code such as \"HKD\" or \"TWD\"",
                                   self.currency)
        if self.advice_style not in ADVICE_STYLES:
            raise NoticeInputError("profile review.advice", f"one of {', '.join(ADVICE_STYLES)}", self.advice_style)
        empty = [k for k in self.wording if not isinstance(self.wording[k], str) or not self.wording[k].strip()]
        if empty:
            raise NoticeInputError(f"profile wording {empty[0]}", "a non-empty sentence", self.wording[empty[0]])
        unknown = sorted(set(self.wording) - set(WORDING_KEYS))
        if unknown:
            raise NoticeInputError(f"profile wording {unknown[0]}", f"one of {', '.join(WORDING_KEYS)}", unknown[0])
        object.__setattr__(self, "names", MappingProxyType(names))
        object.__setattr__(self, "voices", MappingProxyType(voices))
        object.__setattr__(self, "sms_signatures", MappingProxyType(signatures))
        object.__setattr__(self, "app_names", MappingProxyType(app_names))
        object.__setattr__(self, "addresses", MappingProxyType(self._per_locale(self.addresses, "address", "[lender.address]")))
        if not self.source:  # built in code rather than read from a file: hash a canonical form instead
            canonical = repr((self.name, self.phone, self.email, self.url, self.short_url, self.review_window_days,
                              self.notice_period_days, sorted(names.items()), sorted(dict(self.wording).items()),
                              self.legal, sorted(self.addresses.items()), sorted(voices.items()),
                              sorted(signatures.items()), self.short_details, sorted(app_names.items()), sources,
                              self.review_holds, self.advice_style)
                             # (only when not the default: code-built profiles of before keep their hash)
                             + ((self.currency,) if self.currency != "CNY" else ()))
            object.__setattr__(self, "source", canonical)
        object.__setattr__(self, "wording", MappingProxyType(dict(self.wording)))
        if self.phrases is not None:
            self.phrases.require(toml_phrases({"wording": dict(self.wording)}))

    @staticmethod
    def _per_locale(values: Mapping[str, str], what: str, table: str) -> dict[str, str]:
        if not isinstance(values, Mapping):
            raise NoticeInputError(f"profile {table}", "a string, or a table with one per locale", values)
        checked = {}
        for locale, text in dict(values).items():
            if not isinstance(text, str) or not text.strip():
                raise NoticeInputError(f"profile {what} for {locale!r}", "a non-empty string", text)
            checked[negotiate(locale, field=f"profile {table} locale")] = text
        return checked

    @classmethod
    def from_toml(cls, path: str | Path, *, translations: str | Path | Phrasebook | None = None) -> LenderProfile:
        """Read a profile file; every problem is a :class:`~explain.NoticeInputError` naming the field.

        ``translations`` (a :class:`Phrasebook` or a folder of ``<locale>.po``) defaults to the
        ``translations/`` folder beside the file, when there is one.
        """
        path = Path(path)
        if translations is None and (path.parent / TRANSLATIONS_DIR).is_dir():
            translations = path.parent / TRANSLATIONS_DIR
        if translations is not None and not isinstance(translations, Phrasebook):
            translations = Phrasebook.from_dir(translations)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise NoticeInputError("profile", "a readable TOML file", str(path)) from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise NoticeInputError("profile", f"valid TOML ({exc})", str(path)) from exc
        return cls.from_dict(data, source=text, phrases=translations)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "", phrases: Phrasebook | None = None) -> LenderProfile:
        check_profile_keys(data)
        lender = dict(data.get("lender", {}))
        contact = dict(data.get("contact", {}))
        review = dict(data.get("review", {}))
        address = lender.get("address")
        if address is not None and not isinstance(address, str | Mapping):
            raise NoticeInputError("profile lender.address", "an address, or a table of addresses per locale", address)
        addresses = dict.fromkeys(SUPPORTED_LOCALES, address) if isinstance(address, str) else dict(address or {})
        legal = LegalDetails.from_table(lender.get("jurisdiction", "CN"), data.get("legal", {}), address=bool(addresses))
        voice = lender.get("voice", {})
        signature = lender.get("sms_signature", {})
        app = contact.get("app", {})
        return cls(
            name=lender.get("name"),
            names=lender.get("names", {}),
            phone=contact.get("phone"),
            email=contact.get("email"),
            url=contact.get("url"),
            short_url=contact.get("short_url"),
            review_window_days=review.get("window_days", 30),
            notice_period_days=review.get("notice_period_days", 30),
            wording=data.get("wording", {}),
            legal=legal,
            addresses=addresses,
            voices={"zh_CN": voice} if isinstance(voice, str) else voice,
            sms_signatures=dict.fromkeys(SUPPORTED_LOCALES, signature) if isinstance(signature, str) else signature,
            short_details=contact.get("short_details"),
            app_names=dict.fromkeys(SUPPORTED_LOCALES, app) if isinstance(app, str) else app,
            data_sources=tuple(lender["data_sources"]) if isinstance(lender.get("data_sources"), list)
            else lender.get("data_sources", ("account",)),
            review_holds=review.get("holds_decision", False),
            advice_style=review.get("advice", "help"),
            currency=lender.get("currency", "CNY"),
            source=source,
            phrases=phrases,
        )

    def display_name(self, locale: str) -> str:
        """The lender's name in ``locale``: for zh_HK and zh_TW it must be given (``[lender.names]``), never the
        plain (often English) ``name`` in a Chinese letter."""
        locale = negotiate(locale)
        if locale in self.names:
            return self.names[locale]
        if is_chinese(locale) and locale not in BASE_LOCALES:
            raise NoticeInputError(f"profile lender.names.{locale}", f"the lender's name in {locale} for a notice "
                                                                     f"in {locale}", None)
        return self.name

    def address(self, locale: str) -> str | None:
        """The lender's postal address in ``locale``, when the profile gives one."""
        return self.addresses.get(negotiate(locale))

    def voice(self, locale: str) -> str:
        """How the lender says "we" in ``locale``'s letters."""
        locale = negotiate(locale)
        return self.voices.get(locale, DEFAULT_VOICE[locale])

    def sms_signature(self, locale: str) -> str:
        """The registered signature of every short message in ``locale`` (English: the name by default)."""
        locale = negotiate(locale)
        return self.sms_signatures.get(locale) or self.display_name(locale)

    def details_channel(self, adverse: bool) -> str:
        """How a short message points to the details: the profile's choice, else phone (adverse) or link."""
        return self.short_details or ("phone" if adverse else "link")

    def wording_text(self, key: str, *, locale: str) -> str:
        """One ``[wording]`` sentence in ``locale``, from the profile's translations."""
        if self.phrases is None:
            raise NoticeInputError("profile", "a profile with translations (translations/<locale>.po beside it)",
                                   self.name)
        return self.phrases.text(wording_context(key), self.wording[key], locale=locale)

    @property
    def sha256(self) -> str:
        """Hash of the profile's source text: part of every notice's template version."""
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()


@functools.cache
def demo_profile() -> LenderProfile:
    """The neutral demo lender profile shipped with the package, read and parsed once per process.

    ``render_notice`` falls back to it for every notice given no profile; re-reading the TOML each time
    cost a batch of notices a seventh of its run. A profile is frozen, so one shared instance is safe.
    """
    return LenderProfile.from_toml(DEMO_PROFILE_PATH)
