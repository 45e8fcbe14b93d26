"""Is a catalog fit to word notices? Problems that must be fixed, and figures a reviewer should see.

Problems (``explain catalog check`` fails on any): a placeholder or missing phrase (also refused by
``save_bundle`` and ``ModelBundle.load``: :func:`customer_text_problems`), a factor the jurisdiction's law
forbids in a group that is not protected (:func:`forbidden_factor_problems`, also refused by ``save_bundle``), a translation that is
missing, fuzzy or drops a placeholder, a protected-looking feature that is not marked protected (unless the
group records ``protected = false`` with a written ``rationale``), and a ``percent`` feature declared as a
fraction whose background values are not fractions. Notes (reported, not failed): features strongly
associated with a protected one on the background (possible proxies, with the measure), and each group's
share of counter-intuitive contributions on the background (against its declared direction).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from explain._exceptions import FeatureMismatchError
from explain.catalog._catalog import FeatureCatalog
from explain.catalog._catalog_draft import catalog_to_dict, kind_contradiction, protected_trait
from explain.catalog._i18n_extract import toml_phrases
from explain.catalog._phrasebook import Phrasebook
from explain.notices._jurisdiction import JURISDICTIONS, forbidden_factor

__all__ = ["CatalogReport", "check_catalog", "customer_text_problems", "forbidden_factor_problems"]

_PLACEHOLDER = re.compile(r"\bTODO\b|\bFIXME\b|\bXXX\b")
#: "Your savings: {value}." or "储蓄：{value}。": a label and a value, not a sentence a customer reads well.
_FRAGMENT = re.compile(r"^[^{}]{1,40}[:：]\s*\{value\}")
#: Association on the background at or above which a feature is reported as a possible proxy.
PROXY_THRESHOLD = 0.3


@dataclass
class CatalogReport:
    """What :func:`check_catalog` found: ``problems`` fail the check, ``notes`` inform the reviewer."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # a declared kind or range the data contradicts
    counter_intuitive: dict[str, float] = field(default_factory=dict)
    counter_intuitive_rate: float | None = None  # share of principal reasons on the background flagged as such

    @property
    def ok(self) -> bool:
        return not self.problems


def _phrases(catalog: FeatureCatalog) -> list[tuple[str, str | None]]:
    """(where, text) for every phrase a customer can read: protected groups are never shown, so skipped."""
    found = []
    for code, group in catalog.groups.items():
        if group.protected:
            continue
        for name in ("label", "adverse", "favourable", "advice", "short"):
            text = getattr(group, name)
            if text is not None or name not in ("advice", "short"):
                found.append((f"group {code!r} {name}", text))
        for feature in group.features:
            spec = catalog.features[feature]
            found.extend((f"feature {feature!r} {name}", getattr(spec, name)) for name in ("adverse", "favourable", "advice",
                                                                                                "short")
                         if getattr(spec, name) is not None)
            found.extend((f"feature {feature!r} category {raw!r}", text) for raw, text in spec.categories.items())
            if spec.unit:
                found.extend((f"feature {feature!r} unit", text) for text in spec.unit)
    for code, reason in catalog.policy_reasons.items():
        found.extend((f"policy reason {code!r} {name}", getattr(reason, name))
                     for name in ("label", "adverse", "favourable", "advice") if getattr(reason, name) is not None)
    return found


def _association(a: pd.Series, b: pd.Series) -> tuple[float, str]:
    """|Spearman rho| for two numeric columns, else Cramér's V (numbers binned in quintiles)."""
    numeric = [pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) for s in (a, b)]
    if all(numeric):
        rho = a.astype(float).corr(b.astype(float), method="spearman")
        return (abs(float(rho)) if np.isfinite(rho) else 0.0), "|Spearman rho|"

    def codes(series: pd.Series, is_numeric: bool) -> pd.Series:
        if is_numeric and series.nunique() > 5:
            return pd.qcut(series.astype(float), 5, labels=False, duplicates="drop").astype("Int64").astype(str)
        return series.astype(str)

    table = pd.crosstab(codes(a, numeric[0]), codes(b, numeric[1])).to_numpy(dtype=float)
    n = table.sum()
    r, k = table.shape
    if n < 3 or min(r, k) < 2:
        return 0.0, "Cramér's V"
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / np.where(expected > 0, expected, 1)).sum())
    # Bergsma's bias correction: small cells (a rare category) otherwise inflate V on a background sample.
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    r_c, k_c = r - (r - 1) ** 2 / (n - 1), k - (k - 1) ** 2 / (n - 1)
    denominator = min(k_c - 1, r_c - 1)
    return (float(np.sqrt(phi2 / denominator)) if denominator > 0 else 0.0), "Cramér's V (bias-corrected)"


def counter_intuitive_shares(catalog: FeatureCatalog, explainer: Any, background: pd.DataFrame) -> dict[str, float]:
    """Per group with a declared direction or order: the share of its material contributions on the
    background that contradict the declaration for the row's value (the rule reasons are flagged by).

    A contribution is material when it is at least the catalog's ``materiality`` share of the row's total
    absolute contribution, as for reason selection.
    """
    from explain.reasons._reasons import DirectionRules

    rules = DirectionRules.from_catalog(catalog, background)
    values = explainer.explain(background).values
    risk_sign = 1.0 if getattr(explainer, "higher_is", "risk") == "risk" else -1.0
    total = values.abs().sum(axis=1).to_numpy()
    shares = {}
    for code, group in catalog.groups.items():
        judged = wrong = 0
        for feature in group.features:
            if feature not in rules.numeric and feature not in rules.ordered:
                continue
            toward_risk = risk_sign * values[feature].to_numpy(dtype=float)
            material = np.abs(toward_risk) >= catalog.materiality * total
            sides = np.array([rules.side(feature, v) for v in background[feature].tolist()])
            judged += int((material & (sides != 0)).sum())
            wrong += int((material & (((sides < 0) & (toward_risk > 0)) | ((sides > 0) & (toward_risk < 0)))).sum())
        if judged:
            shares[code] = wrong / judged
    return shares


def _kind_warnings(catalog: FeatureCatalog, background: pd.DataFrame) -> list[str]:
    """A declared kind or range the data contradicts ("months" of 28,670, a negative count)."""
    found = []
    for name, spec in catalog.features.items():
        if name not in background or spec.kind == "category":
            continue
        column = background[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            continue
        values = column.dropna().to_numpy(dtype=float)
        if not values.size:
            continue
        why = None
        if spec.min is not None and values.min() < spec.min or spec.max is not None and values.max() > spec.max:
            why = f"the catalog's range {spec.min} to {spec.max} cannot hold {values.min():g} to {values.max():g}"
        elif not (spec.kind == "percent" and spec.scale == "fraction"):  # that one is a problem, listed above
            why = kind_contradiction(spec.kind, values, scale=spec.scale)
        if why is not None:
            found.append(f"feature {name!r}: declared kind {spec.kind!r}, but the data says otherwise: {why}")
    return found


def _counter_intuitive(report: CatalogReport, catalog: FeatureCatalog, explainer: Any, background: pd.DataFrame) -> None:
    """The share of principal reasons on the background flagged counter-intuitive, and each group's share."""
    flagged = total = 0
    for decision in ("limit_decrease", "limit_increase"):
        for result in explainer.reasons(background, decision=decision):
            total += len(result.reasons)
            flagged += sum(r.counter_intuitive for r in result.reasons)
    report.counter_intuitive_rate = flagged / total if total else 0.0
    report.notes.append(f"counter-intuitive principal reasons on the background (decrease and increase): "
                        f"{report.counter_intuitive_rate:.2%} ({flagged} of {total}); worded neutrally, no advice")
    report.counter_intuitive = counter_intuitive_shares(catalog, explainer, background)
    if report.counter_intuitive:
        shown = ", ".join(f"{c} {s:.1%}" for c, s in report.counter_intuitive.items())
        report.notes.append(f"counter-intuitive contributions on the background (against the declared "
                            f"direction): {shown}")


def customer_text_problems(catalog: FeatureCatalog, phrases: Phrasebook | None = None) -> list[str]:
    """Missing or placeholder (``TODO``, ``FIXME``, ``XXX``) phrases a customer could read, in the catalog or in
    any of its translations: text that must never be rendered, so a bundle refuses it at build and at load."""
    problems = []
    for where, text in _phrases(catalog):
        if text is None or not str(text).strip():
            problems.append(f"{where}: missing phrase")
        elif _PLACEHOLDER.search(text):
            problems.append(f"{where}: placeholder phrase {text!r}; write the customer's wording")
    if phrases is not None:
        for locale, phrase, text in phrases.translated(toml_phrases(catalog_to_dict(catalog))):
            if _PLACEHOLDER.search(text):
                problems.append(f"translation {locale}: {phrase.context} {phrase.singular!r}: placeholder {text!r}; "
                                "write the customer's wording")
    return problems


def forbidden_factor_problems(catalog: FeatureCatalog, jurisdictions: Any = JURISDICTIONS) -> list[str]:
    """A problem for each feature of an unprotected group that reveals a factor the packs' law forbids."""
    problems = []
    for code, group in catalog.groups.items():
        if group.protected:
            continue
        for feature in group.features:
            factor = forbidden_factor(feature, catalog.features[feature].categories, packs=jurisdictions)
            if factor is not None:
                problems.append(
                    f"group {code!r}: feature {feature!r} is {factor.factor}, which {factor.pack} law forbids as a "
                    f"reason or an input ({factor.rule}); mark its group protected = true or drop it from the model")
    return problems


def check_catalog(catalog: FeatureCatalog, *, phrases: Phrasebook | None = None, background: pd.DataFrame | None = None,
                  explainer: Any = None, jurisdictions: Any = JURISDICTIONS) -> CatalogReport:
    """Check ``catalog`` (and its translations, background and explainer, when given) for the ``jurisdictions``
    whose forbidden factors apply (the lender profile's; every pack when it is not known)."""
    report = CatalogReport()
    report.problems.extend(customer_text_problems(catalog))
    report.problems.extend(forbidden_factor_problems(catalog, jurisdictions))
    for where, text in _phrases(catalog):
        if text and _FRAGMENT.search(text):
            report.notes.append(f"{where}: {text!r} reads as 'label: value'; write a whole sentence "
                                "(\"Your savings with us are very low.\")")
    if phrases is None:
        report.problems.append("translations: none found (translations/<locale>.po beside the catalog); "
                               "run `explain phrases update`")
    else:
        for locale, phrase, problem in phrases.problems(toml_phrases(catalog_to_dict(catalog))):
            report.problems.append(f"translation {locale}: {phrase.context} {phrase.singular!r}: {problem}")
        report.problems.extend(p for p in customer_text_problems(catalog, phrases) if p.startswith("translation "))
    protected_features = [f for g in catalog.groups.values() if g.protected for f in g.features]
    for code, group in catalog.groups.items():
        if group.protected:
            continue
        for feature in group.features:
            trait = protected_trait(feature, catalog.features[feature].categories)
            if trait is not None and not (group.rationale or "").strip():
                report.problems.append(
                    f"group {code!r}: feature {feature!r} looks like a protected trait ({trait}) but is not protected; "
                    "set protected = true, or keep protected = false with a written rationale = \"...\"")
    if background is not None:
        for name, spec in catalog.features.items():
            if spec.kind == "percent" and spec.scale == "fraction" and name in background:
                values = pd.to_numeric(background[name], errors="coerce").abs()
                if (values > 1).any():
                    report.problems.append(
                        f"feature {name!r}: kind percent reads fractions (0.65 = 65%) but the background has values up "
                        f"to {values.max():g}; declare scale = \"percent\" if they are percentages")
        report.warnings.extend(_kind_warnings(catalog, background))
        for feature in (f for g in catalog.groups.values() if not g.protected for f in g.features):
            for other in protected_features:
                if feature in background and other in background:
                    measure, how = _association(background[feature], background[other])
                    if measure >= PROXY_THRESHOLD:
                        report.notes.append(f"possible proxy: {feature!r} is associated with protected {other!r} "
                                            f"on the background ({how} {measure:.2f})")
        if explainer is not None and report.warnings:
            report.notes.append("counter-intuitive shares not computed: the background breaks a declared range "
                                "(see the warnings), so its accounts would be refused as inputs")
        elif explainer is not None:
            try:
                _counter_intuitive(report, catalog, explainer, background)
            except FeatureMismatchError as exc:
                report.notes.append(f"counter-intuitive shares not computed: the background is refused as inputs ({exc})")
    return report
