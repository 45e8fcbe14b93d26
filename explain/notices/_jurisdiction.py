"""Jurisdiction packs: which legal blocks a notice must carry, and the lender's details that fill them.

The profile names a jurisdiction; the toolkit's templates hold the legal wording for each (gettext, both
languages) and the profile's ``[legal]`` table holds the lender's own facts:

======  ==========================================================================================
CN      PIPL art. 24 (explanation, refusal of solely automated decisions: staff decide again, human
        review), arts. 45/46 (access, copy, correction) and 50 (reasons for a refusal); on adverse kinds the
        征信 block (《征信业管理条例》 art. 15 prior notice when a repayment is overdue, art. 17 free report,
        art. 25 objection, PBOC hotline 12363); the lender's complaint channel, its 15-day reply and the
        regulator's consumer hotline: ``complaint_channel`` (default: the contact phone), ``regulator``
        (name per locale), ``regulator_hotline``.
US      On adverse kinds only: the ECOA / Reg B §1002.9 notice with ``agency`` (name per locale) and
        ``agency_address``; the creditor's address (``[lender] address``); with ``bureau_data = true`` the
        FCRA §615(a) block (``bureau`` name, ``bureau_address``, ``bureau_phone``) and the credit-score
        disclosure (§615(a)(2), §609(f)) from the decision's :class:`CreditScore`.
EU      GDPR art. 22(3) (human intervention, point of view, contest); CCD (EU) 2023/2225 art. 18 on a declined
        increase (the creditworthiness assessment); the lender's complaint channel (``complaint_channel``,
        default: the contact phone), the out-of-court redress body ``adr`` (name per locale, required) and
        an optional ``supervisor``.
HK      Personal Data (Privacy) Ordinance (Cap. 486): data access (s.18) and correction (s.22) requests, answered
        within 40 days (ss.19, 23); the lender's complaint channel (``complaint_channel``, default: the contact
        phone), then the regulator ``regulator`` (name per locale, required; e.g. the HKMA) at
        ``regulator_contact`` (required) and an optional dispute-resolution body ``adr``. When the profile's
        ``data_sources`` include ``credit_report``, on adverse kinds: the credit reference agency
        ``credit_reference_agency`` and ``credit_reference_contact`` (both then required; Code of Practice on
        Consumer Credit Data).
TW      個人資料保護法 art. 3 (查詢、閱覽、製給複製本、補充或更正) with art. 13's reply periods; 金融消費者保護法
        art. 13: the complaint to the lender first (``complaint_channel``, required), its 30-day reply, then the
        金融消費評議中心 within 60 days (a statutory body: named in the template). With ``credit_report`` among
        the data sources, on adverse kinds: the 聯徵中心 block (a free report once a year; correction).
======  ==========================================================================================

A name may be one string for every locale or a table with one entry per locale. The pack's own locales
(:data:`PACK_LOCALES`: zh_CN and en for CN, US and EU; zh_HK and en for HK; zh_TW and en for TW) are required;
a notice in another locale whose name the profile lacks is refused, naming the field and the locale.

Which of a pack's blocks a decision kind carries is data too (:data:`LEGAL_BLOCKS`), each with the rule it
follows and why it applies to those kinds, so a compliance reviewer reads the decision here, not in a template.

Each pack also declares, as data (:data:`FORBIDDEN_FACTORS`), the factors its law forbids as reasons or
inputs; ``explain catalog check`` and ``save_bundle`` refuse a catalog whose unprotected group holds one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import datetime as _dt
from numbers import Integral

from explain._exceptions import NoticeInputError
from explain.notices._locales import SUPPORTED_LOCALES, negotiate

__all__ = ["FORBIDDEN_FACTORS", "JURISDICTIONS", "LEGAL_BLOCKS", "CreditScore", "ForbiddenFactor", "LegalBlock",
           "LegalDetails", "forbidden_factor", "legal_blocks"]

JURISDICTIONS: tuple[str, ...] = ("CN", "US", "EU", "HK", "TW")
#: The locales each pack's names must be given in (a notice in any other needs the name in it too).
PACK_LOCALES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "CN": ("zh_CN", "en"), "US": ("zh_CN", "en"), "EU": ("zh_CN", "en"), "HK": ("zh_HK", "en"), "TW": ("zh_TW", "en")})


@dataclass(frozen=True)
class ForbiddenFactor:
    """A factor a pack's law forbids as a reason or an input, and the hints that reveal it in a catalog.

    ``names`` are column-name hints: English whole words, ``snake_case`` fragments or Chinese fragments;
    ``values`` are category values (whole words) that reveal it under a neutral column name.
    """

    pack: str
    factor: str
    rule: str
    names: tuple[str, ...]
    values: tuple[str, ...] = ()

    def matches(self, feature: str, categories: Any = ()) -> bool:
        spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", feature)
        tokens = {t for t in re.split(r"[^0-9A-Za-z]+", spaced.lower()) if t}
        for hint in self.names:
            if re.search(r"[\u4e00-\u9fff]", hint) or "_" in hint:
                if hint in feature.lower():
                    return True
            elif hint in tokens:
                return True
        words: set[str] = set()
        for value in categories:
            text = str(value).strip().lower()
            words |= {text, *(t for t in re.split(r"[^0-9a-z\u4e00-\u9fff]+", text) if t)}
        return bool(words & set(self.values))


_US_BASIS = "ECOA, Reg B 12 CFR 1002.2(z) and 1002.6(b) (a prohibited basis)"
_CN_FAIR = "人民银行《金融消费者权益保护实施办法》 (no discrimination by ethnicity, religion or marital status)"
_CN_CREDIT = "《征信业管理条例》第十四条 (information that may not be collected)"
_GDPR_9 = "GDPR art. 9(1) (a special category of personal data)"
_HK_SDO = "Sex Discrimination Ordinance (Cap. 480), s.28 (provision of facilities and services, credit included)"
_TW_SPECIAL = "個人資料保護法第6條 (特種個人資料: may not be collected or used)"
_TW_EQUAL = "中華民國憲法第7條 (equality regardless of sex, religion, race) and 金融服務業公平待客原則 (fair treatment)"

#: Per pack, the factors its law forbids as a reason or an input: data, so a reviewer can read and extend it.
FORBIDDEN_FACTORS: Mapping[str, tuple[ForbiddenFactor, ...]] = MappingProxyType({
    "US": (
        ForbiddenFactor("US", "a telephone listing in the applicant's name", "Reg B 12 CFR 1002.6(b)(4)",
                        ("telephone", "landline", "phone_listing", "listed_phone", "电话")),
        ForbiddenFactor("US", "receipt of public assistance", "Reg B 12 CFR 1002.6(b)(2)",
                        ("public_assistance", "welfare", "benefits", "snap", "tanf", "medicaid", "救助", "低保")),
        ForbiddenFactor("US", "race or color", _US_BASIS, ("race", "racial", "color", "colour", "ethnic", "ethnicity",
                                                          "种族", "民族")),
        ForbiddenFactor("US", "religion", _US_BASIS, ("religion", "religious", "faith", "宗教", "信仰")),
        ForbiddenFactor("US", "national origin", _US_BASIS, ("nationality", "national", "foreign", "foreigner",
                                                            "citizen", "citizenship", "immigrant", "origin", "国籍", "籍贯")),
        ForbiddenFactor("US", "sex", _US_BASIS, ("sex", "gender", "性别"), ("male", "female", "man", "woman")),
        ForbiddenFactor("US", "marital status", _US_BASIS, ("marital", "married", "marriage", "spouse",
                                                           "personal_status", "婚姻", "婚否"),
                        ("married", "single", "divorced", "widowed", "separated")),
        ForbiddenFactor("US", "age", _US_BASIS, ("age", "aged", "birth", "birthday", "dob", "born", "年龄", "出生")),
    ),
    "CN": (
        ForbiddenFactor("CN", "民族 (ethnicity)", _CN_FAIR, ("ethnic", "ethnicity", "race", "racial", "民族", "种族")),
        ForbiddenFactor("CN", "宗教信仰 (religious belief)", _CN_CREDIT, ("religion", "religious", "faith", "宗教",
                                                                        "信仰")),
        ForbiddenFactor("CN", "婚姻 (marital status)", _CN_FAIR, ("marital", "married", "marriage", "spouse",
                                                                 "personal_status", "婚姻", "婚否"),
                        ("married", "single", "divorced", "widowed", "已婚", "未婚", "离异", "丧偶")),
        ForbiddenFactor("CN", "基因、指纹、血型、疾病和病史 (genes, fingerprints, blood type, illness)", _CN_CREDIT,
                        ("gene", "genetic", "fingerprint", "blood_type", "illness", "disease", "medical", "基因",
                         "指纹", "血型", "疾病", "病史")),
    ),
    "EU": (
        ForbiddenFactor("EU", "racial or ethnic origin", _GDPR_9, ("race", "racial", "ethnic", "ethnicity", "种族",
                                                                   "民族")),
        ForbiddenFactor("EU", "political opinions", _GDPR_9, ("political", "party_membership", "政治")),
        ForbiddenFactor("EU", "religious or philosophical beliefs", _GDPR_9, ("religion", "religious", "faith",
                                                                              "belief", "beliefs", "宗教", "信仰")),
        ForbiddenFactor("EU", "trade union membership", _GDPR_9, ("trade_union", "union_member", "union_membership", "工会")),
        ForbiddenFactor("EU", "genetic or biometric data", _GDPR_9, ("genetic", "gene", "biometric", "fingerprint",
                                                                     "基因", "指纹")),
        ForbiddenFactor("EU", "health", _GDPR_9, ("health", "disability", "disabled", "illness", "disease", "medical",
                                                  "健康", "疾病", "残疾")),
        ForbiddenFactor("EU", "sex life or sexual orientation", _GDPR_9, ("sexual", "orientation", "性取向")),
    ),
    # Hong Kong's four discrimination ordinances each cover the provision of services, credit included.
    # Hints in English, Simplified and Traditional (a column may be named in any of them).
    "HK": (
        ForbiddenFactor("HK", "sex", _HK_SDO, ("sex", "gender", "性别", "性別"), ("male", "female", "man", "woman")),
        ForbiddenFactor("HK", "marital status or pregnancy", _HK_SDO,
                        ("marital", "married", "marriage", "spouse", "personal_status", "pregnant", "pregnancy",
                         "婚姻", "婚否", "怀孕", "懷孕"),
                        ("married", "single", "divorced", "widowed", "separated", "已婚", "未婚")),
        ForbiddenFactor("HK", "disability", "Disability Discrimination Ordinance (Cap. 487), s.27",
                        ("disability", "disabled", "handicap", "impairment", "残疾", "殘疾", "残障", "殘障")),
        ForbiddenFactor("HK", "family status (caring for an immediate family member)",
                        "Family Status Discrimination Ordinance (Cap. 527), s.17",
                        ("family_status", "caregiver", "carer", "dependants", "dependents", "家庭岗位", "家庭崗位")),
        ForbiddenFactor("HK", "race, colour, descent, national or ethnic origin",
                        "Race Discrimination Ordinance (Cap. 602), s.27",
                        ("race", "racial", "color", "colour", "descent", "ethnic", "ethnicity", "nationality",
                         "种族", "種族", "民族", "国籍", "國籍")),
    ),
    # Taiwan: the Personal Data Protection Act's special categories may not be used at all (art. 6); sex,
    # religion and race are the constitution's equality grounds that fair-treatment rules carry into credit.
    "TW": (
        ForbiddenFactor("TW", "病歷、醫療、健康檢查 (medical records, medical care, health checks)", _TW_SPECIAL,
                        ("medical", "health", "illness", "disease", "checkup", "病历", "病歷", "医疗", "醫療",
                         "健康", "疾病")),
        ForbiddenFactor("TW", "基因 (genetic data)", _TW_SPECIAL, ("gene", "genetic", "dna", "基因")),
        ForbiddenFactor("TW", "性生活 (sex life)", _TW_SPECIAL, ("sexual", "orientation", "性生活", "性取向")),
        ForbiddenFactor("TW", "犯罪前科 (criminal record)", _TW_SPECIAL,
                        ("criminal", "conviction", "convictions", "offence", "offense", "犯罪", "前科")),
        ForbiddenFactor("TW", "性別 (sex)", _TW_EQUAL, ("sex", "gender", "性别", "性別"),
                        ("male", "female", "man", "woman")),
        ForbiddenFactor("TW", "種族、宗教 (race or ethnicity, religion)", _TW_EQUAL,
                        ("race", "racial", "ethnic", "ethnicity", "religion", "religious", "种族", "種族", "民族",
                         "宗教")),
    ),
})


def forbidden_factor(feature: str, categories: Any = (), *, packs: Any = JURISDICTIONS) -> ForbiddenFactor | None:
    """The first factor forbidden by one of ``packs`` that ``feature`` (name or category values) reveals."""
    for pack in packs:
        for factor in FORBIDDEN_FACTORS[pack]:
            if factor.matches(feature, categories):
                return factor
    return None


@dataclass(frozen=True)
class LegalBlock:
    """A legal block of one pack that only some decision kinds carry: the rule, the kinds and why."""

    pack: str
    name: str  # what the pack's template tests: ``{% if "ecoa" in legal.blocks %}``
    rule: str
    kinds: tuple[str, ...]
    why: str


_ADVERSE = ("limit_decrease", "account_closure", "increase_declined", "increases_suspended")

#: Per pack, the blocks that depend on the decision kind (the rest, rights and complaints, are on every notice).
LEGAL_BLOCKS: Mapping[str, tuple[LegalBlock, ...]] = MappingProxyType({
    "US": (
        LegalBlock("US", "ecoa", "ECOA 15 U.S.C. 1691(d); Reg B 12 CFR 1002.9(a)(2)-(3), (b) (adverse action notice)",
                   _ADVERSE,
                   "Adverse action (12 CFR 1002.2(c)(1)): a refusal to grant credit in the amount requested, a "
                   "termination, or an unfavorable change in the terms of an account. A decrease, a closure and a "
                   "declined increase are that. A suspension of increases is given the notice too, although "
                   "1002.2(c)(2)(ii) excludes action taken over delinquency or default and 1002.2(c)(1)(ii) a "
                   "change to a whole class of accounts: the toolkit cannot tell which applies to one account "
                   "(a suspension with a lowered limit is a change of terms for that account), and a notice given "
                   "where none was due costs nothing, while one missing breaks the law."),
        LegalBlock("US", "fcra", "FCRA 15 U.S.C. 1681m(a), 1681g(f) (consumer report and credit score used)",
                   _ADVERSE,
                   "FCRA adverse action (15 U.S.C. 1681a(k)(1)(A)) is ECOA's; with bureau_data the report and the "
                   "score were used, so the same kinds carry it, the suspension of increases included."),
    ),
    "CN": (
        LegalBlock("CN", "credit_report", "《征信业管理条例》第十五条、第十七条、第二十五条 (credit report rights)",
                   _ADVERSE,
                   "Every decision that takes something from the customer (a lower limit, a closure, a refused "
                   "or suspended increase) may rest on credit data the customer should be able to check and "
                   "dispute; a suspension after an overdue repayment is exactly when article 15's prior notice "
                   "matters. PIPL art. 24 rights and complaints are on every kind."),
    ),
    "EU": (
        LegalBlock("EU", "ccd_art18", "Consumer Credit Directive (EU) 2023/2225 art. 18 (creditworthiness assessment)",
                   ("increase_declined",),
                   "Art. 18 attaches to the creditworthiness assessment made before new credit or a significant "
                   "increase: a declined increase is its refusal. Stopping increases the customer did not ask for "
                   "refuses no application and grants no credit, so it is not; GDPR art. 22(3) (human "
                   "intervention, point of view, contest) is on every kind, a suspension included."),
    ),
})


def legal_blocks(jurisdiction: str, kind: str | None) -> tuple[str, ...]:
    """The names of ``jurisdiction``'s kind-dependent blocks that a ``kind`` notice carries."""
    return tuple(b.name for b in LEGAL_BLOCKS.get(jurisdiction, ()) if kind in b.kinds)


_TEXT_KEYS = {"CN": ("complaint_channel", "regulator", "regulator_hotline"),
              "US": ("agency", "agency_address", "bureau", "bureau_address", "bureau_phone"),
              "EU": ("complaint_channel", "adr", "supervisor"),
              "HK": ("complaint_channel", "regulator", "regulator_contact", "adr", "credit_reference_agency",
                     "credit_reference_contact"),
              "TW": ("complaint_channel",)}
_REQUIRED = {"CN": ("regulator", "regulator_hotline"), "US": ("agency", "agency_address"), "EU": ("adr",),
             "HK": ("regulator", "regulator_contact"), "TW": ("complaint_channel",)}
#: What a pack needs when the profile's data sources include the customer's credit report.
_REQUIRED_WITH_CREDIT_REPORT = {"HK": ("credit_reference_agency", "credit_reference_contact")}


def _localized(value: Any, field_name: str, required: tuple[str, ...]) -> dict[str, str]:
    """One text per locale, from a string (the same everywhere) or a per-locale table covering ``required``."""
    if isinstance(value, str) and value.strip():
        return dict.fromkeys(SUPPORTED_LOCALES, value.strip())
    if isinstance(value, Mapping):
        texts = {negotiate(k, field=f"profile legal.{field_name} locale"): v for k, v in value.items()}
        bad = [loc for loc, text in texts.items() if not isinstance(text, str) or not text.strip()]
        missing = [loc for loc in required if loc not in texts] + bad
        if not missing:
            return texts
        raise NoticeInputError(f"profile legal.{field_name}", f"a name for every locale (missing: {', '.join(missing)})",
                               dict(value))
    raise NoticeInputError(f"profile legal.{field_name}", "a name, or a table of names per locale", value)


@dataclass(frozen=True)
class LegalDetails:
    """The lender's facts for its jurisdiction's legal blocks, validated when the profile is read."""

    jurisdiction: str = "CN"
    bureau_data: bool = False
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def cn_default(cls) -> LegalDetails:
        """What a profile built in code without ``[legal]`` gets: China, with the national consumer hotline."""
        return cls.from_table("CN", {"regulator": {"zh_CN": "国家金融监督管理总局",
                                                   "en": "National Financial Regulatory Administration"},
                                     "regulator_hotline": "12378"}, address=False)

    @classmethod
    def from_table(cls, jurisdiction: Any, table: Mapping[str, Any], *, address: bool) -> LegalDetails:
        if jurisdiction not in JURISDICTIONS:
            raise NoticeInputError("profile lender.jurisdiction", f"one of {', '.join(JURISDICTIONS)}", jurisdiction)
        table = dict(table)
        bureau_data = table.pop("bureau_data", False)
        # (HK and TW name the credit reference agency from the profile's data_sources, not from bureau_data:
        # their blocks need no credit-score disclosure.)
        if not isinstance(bureau_data, bool) or (bureau_data and jurisdiction != "US"):
            raise NoticeInputError("profile legal.bureau_data", "true or false (US profiles only)", bureau_data)
        allowed = _TEXT_KEYS[jurisdiction]
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            raise NoticeInputError(f"profile legal.{unknown[0]}", f"one of {', '.join(allowed)} for {jurisdiction}",
                                   unknown[0])
        required = _REQUIRED[jurisdiction] + (("bureau", "bureau_address", "bureau_phone") if bureau_data else ())
        for key in required:
            if key not in table:
                raise NoticeInputError(f"profile legal.{key}", f"given: {jurisdiction} notices must name it", None)
        if jurisdiction == "US" and not address:
            raise NoticeInputError("profile lender.address", "the creditor's address: US notices must carry it", None)
        texts = {}
        for key, value in table.items():
            texts[key] = MappingProxyType(_localized(value, key, PACK_LOCALES[jurisdiction]))
        return cls(jurisdiction, bureau_data, MappingProxyType(texts))

    def check_sources(self, sources: tuple[str, ...]) -> None:
        """Refuse a profile whose data sources need a legal fact its ``[legal]`` table does not give."""
        if "credit_report" in sources:
            for key in _REQUIRED_WITH_CREDIT_REPORT.get(self.jurisdiction, ()):
                if key not in self.texts:
                    raise NoticeInputError(f"profile legal.{key}", f"given: {self.jurisdiction} notices name it when "
                                                                   "lender.data_sources include credit_report", None)

    def context(self, locale: str, *, default_channel: str, sources: tuple[str, ...] = (),
                kind: str | None = None) -> dict[str, Any]:
        """The legal block's variables in ``locale`` (``pack`` names the template; ``blocks`` the
        :data:`LEGAL_BLOCKS` a ``kind`` notice carries); a name the profile does not give in ``locale`` is an
        error naming the field and the locale, never another language's."""
        values = {}
        for key, texts in self.texts.items():
            if locale not in texts:
                raise NoticeInputError(f"profile legal.{key}", f"a name in {locale} for a notice in {locale} "
                                                               f"(given: {', '.join(texts)})", None)
            values[key] = texts[locale]
        if self.jurisdiction in ("CN", "EU", "HK"):
            values.setdefault("complaint_channel", default_channel)
        values.setdefault("supervisor", None)
        values.setdefault("adr", None)
        return {"pack": self.jurisdiction.lower(), "bureau_data": self.bureau_data,
                "credit_report": "credit_report" in sources, "blocks": legal_blocks(self.jurisdiction, kind), **values}


#: FCRA §609(f)(1)(C): at most four key factors (a fifth only for inquiries, which we do not special-case).
MAX_KEY_FACTORS = 4


@dataclass(frozen=True)
class CreditScore:
    """The credit score a US decision used (FCRA §615(a)(2), §609(f)), as the bureau reported it.

    Built from a decision's bureau fields by :meth:`parse`: ``bureau_score``, ``range`` (lowest and highest
    possible score), ``date`` (when the score was created) and ``key_factors`` (up to four, the bureau's own
    wording: one text for every locale or a table per locale).
    """

    score: int
    low: int
    high: int
    date: _dt.date
    key_factors: tuple[Mapping[str, str], ...]

    @classmethod
    def parse(cls, value: Any, *, field: str = "bureau") -> CreditScore:
        if isinstance(value, CreditScore):
            return value
        if not isinstance(value, Mapping):
            raise NoticeInputError(field, "the decision's bureau fields: bureau_score, range, date, key_factors", value)
        missing = [k for k in ("bureau_score", "range", "date", "key_factors") if value.get(k) is None]
        if missing:
            raise NoticeInputError(f"{field}.{missing[0]}", "given: the US credit-score disclosure needs it", None)
        score, bounds, date, factors = value["bureau_score"], value["range"], value["date"], value["key_factors"]
        if isinstance(date, str):
            try:
                date = _dt.date.fromisoformat(date)
            except ValueError:
                raise NoticeInputError(f"{field}.date", "a date (YYYY-MM-DD)", date) from None
        if isinstance(date, _dt.datetime) or not isinstance(date, _dt.date):
            raise NoticeInputError(f"{field}.date", "a date (YYYY-MM-DD)", date)
        if (not isinstance(bounds, list | tuple) or len(bounds) != 2
                or not all(isinstance(b, Integral) and not isinstance(b, bool) for b in bounds) or bounds[0] >= bounds[1]):
            raise NoticeInputError(f"{field}.range", "the lowest and the highest possible score, two whole numbers", bounds)
        if isinstance(score, bool) or not isinstance(score, Integral) or not bounds[0] <= score <= bounds[1]:
            raise NoticeInputError(f"{field}.bureau_score", f"a whole number from {bounds[0]} to {bounds[1]}", score)
        if isinstance(factors, str) or not isinstance(factors, list | tuple) or not 1 <= len(factors) <= MAX_KEY_FACTORS:
            raise NoticeInputError(f"{field}.key_factors", f"1 to {MAX_KEY_FACTORS} key factors from the bureau", factors)
        texts = []
        for i, factor in enumerate(factors):
            if isinstance(factor, str):
                factor = dict.fromkeys(SUPPORTED_LOCALES, factor)
            texts.append(_localized_factor(factor, f"{field}.key_factors[{i}]"))
        return cls(int(score), int(bounds[0]), int(bounds[1]), date, tuple(texts))


def _localized_factor(value: Any, field: str) -> Mapping[str, str]:
    if isinstance(value, Mapping):
        texts = {negotiate(k, field=f"{field} locale"): v for k, v in value.items()}
        if all(isinstance(texts.get(loc), str) and texts[loc].strip() and texts[loc].isprintable()
               for loc in {*PACK_LOCALES["US"], *texts}):
            return MappingProxyType({loc: texts[loc].strip() for loc in SUPPORTED_LOCALES if loc in texts})
    raise NoticeInputError(field, "a one-line text, or a table with one per locale", value)
