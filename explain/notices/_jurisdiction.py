"""Jurisdiction packs: which legal blocks a notice must carry, and the lender's details that fill them.

The profile names a jurisdiction; the toolkit's templates hold the legal wording for each (gettext, both
languages) and the profile's ``[legal]`` table holds the lender's own facts:

======  ==========================================================================================
CN      PIPL art. 24 (explanation, refusal of solely automated decisions, human review); the lender's
        complaint channel and the regulator's consumer hotline: ``complaint_channel`` (default: the
        contact phone), ``regulator`` (name per locale), ``regulator_hotline``.
US      ECOA / Reg B §1002.9 notice with ``agency`` (name per locale) and ``agency_address``; the
        creditor's address (``[lender] address``); with ``bureau_data = true`` the FCRA §615 block:
        ``bureau`` (name), ``bureau_address``, ``bureau_phone``.
EU      GDPR art. 22(3) (human intervention, point of view, contest) and CCD (EU) 2023/2225 art. 18
        (explanation of the creditworthiness assessment, review); optional ``supervisor`` (name per locale).
======  ==========================================================================================

A name may be one string for every locale or a table with one entry per supported locale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from explain._exceptions import NoticeInputError
from explain.notices._locales import SUPPORTED_LOCALES, negotiate

__all__ = ["JURISDICTIONS", "LegalDetails"]

JURISDICTIONS: tuple[str, ...] = ("CN", "US", "EU")
_TEXT_KEYS = {"CN": ("complaint_channel", "regulator", "regulator_hotline"),
              "US": ("agency", "agency_address", "bureau", "bureau_address", "bureau_phone"),
              "EU": ("supervisor",)}
_REQUIRED = {"CN": ("regulator", "regulator_hotline"), "US": ("agency", "agency_address"), "EU": ()}


def _localized(value: Any, field_name: str) -> dict[str, str]:
    """One text per supported locale, from a string (the same everywhere) or a per-locale table."""
    if isinstance(value, str) and value.strip():
        return dict.fromkeys(SUPPORTED_LOCALES, value.strip())
    if isinstance(value, Mapping):
        texts = {negotiate(k, field=f"profile legal.{field_name} locale"): v for k, v in value.items()}
        missing = [loc for loc in SUPPORTED_LOCALES if not isinstance(texts.get(loc), str) or not texts[loc].strip()]
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
            texts[key] = _localized(value, key)
        return cls(jurisdiction, bureau_data, MappingProxyType(texts))

    def context(self, locale: str, *, default_channel: str) -> dict[str, Any]:
        """The legal block's variables in ``locale`` (``pack`` names the template)."""
        values = {key: texts[locale] for key, texts in self.texts.items()}
        if self.jurisdiction == "CN":
            values.setdefault("complaint_channel", default_channel)
        return {"pack": self.jurisdiction.lower(), "bureau_data": self.bureau_data, **values}
