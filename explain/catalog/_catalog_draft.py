"""A first catalog for a lender's own data and model: one group per column, safe by default.

A draft must never put a protected trait in front of a customer or read a value wrongly, so it proposes
``protected = true`` for every column whose name or values suggest one (age, sex, marital status,
nationality, race, religion, disability, in English or Chinese), infers each value kind from the column
and each direction from the model, and words every phrase ``TODO``, which ``explain catalog check`` refuses
until a person has written the real wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from explain.catalog._catalog import FeatureCatalog

__all__ = ["catalog_to_dict", "draft_catalog", "protected_trait"]

#: Protected traits and the name tokens (English, whole words) or fragments (Chinese) that suggest them.
PROTECTED_NAMES: dict[str, tuple[str, ...]] = {
    "age": ("age", "ages", "aged", "birth", "birthday", "dob", "born", "年龄", "出生"),
    "sex or gender": ("sex", "gender", "male", "female", "性别"),
    "marital status": ("marital", "married", "marriage", "spouse", "personal_status", "婚姻", "婚否"),
    "nationality or origin": ("nationality", "national", "foreign", "foreigner", "citizen", "citizenship",
                              "immigrant", "origin", "country_of_birth", "籍贯", "户籍", "国籍"),
    "race or ethnicity": ("race", "racial", "ethnic", "ethnicity", "民族", "种族"),
    "religion": ("religion", "religious", "faith", "宗教", "信仰"),
    "disability": ("disability", "disabled", "handicap", "残疾", "残障"),
}
#: Category values that suggest a protected trait even under a neutral column name.
PROTECTED_VALUES: dict[str, tuple[str, ...]] = {
    "sex or gender": ("male", "female", "man", "woman", "men", "women", "男", "女"),
    "marital status": ("married", "single", "divorced", "widowed", "separated", "已婚", "未婚", "离异", "丧偶"),
}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _tokens(name: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return {t for t in re.split(r"[^0-9A-Za-z]+", spaced.lower()) if t}


def protected_trait(name: str, values: Iterable[Any] = ()) -> str | None:
    """The protected trait a column's name or category values suggest, or None."""
    tokens = _tokens(name)
    lowered = name.lower()
    for trait, hints in PROTECTED_NAMES.items():
        for hint in hints:
            if _CJK.search(hint) and hint in name:
                return trait
            if "_" in hint and hint in lowered:
                return trait
            if hint in tokens:
                return trait
    words = set()
    for value in values:
        text = str(value).strip().lower()
        words.add(text)
        words.update(_tokens(text))
    for trait, hints in PROTECTED_VALUES.items():
        if words & set(hints):
            return trait
    return None


def _value_kind(name: str, series: pd.Series) -> dict[str, Any]:
    """The value kind a column's name and values suggest (``kind`` and, for percents, ``scale``)."""
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return {"kind": "category"}
    tokens = _tokens(name)
    values = series.dropna().to_numpy(dtype=float)
    whole = values.size > 0 and bool(np.all(np.equal(np.mod(values, 1), 0)))
    non_negative = values.size == 0 or bool(values.min() >= 0)
    if tokens & {"month", "months", "duration", "term", "tenure"} or "月" in name:
        return {"kind": "months"}
    if tokens & {"year", "years"} or "年" in name:
        return {"kind": "years"}
    if tokens & {"pct", "percent", "percentage", "ratio", "rate", "utilisation", "utilization", "share", "dti"}:
        if values.size and non_negative and values.max() <= 1.0:
            return {"kind": "percent", "scale": "fraction"}
        return {"kind": "percent", "scale": "percent"}
    if tokens & {"amount", "income", "balance", "limit", "salary", "debt", "spend", "spending", "savings", "deposit",
                 "money", "cny", "rmb", "usd", "eur"} or any(h in name for h in ("金额", "收入", "余额")):
        return {"kind": "money"}
    counted = tokens & {"count", "number", "num", "n", "times", "inquiries", "accounts"} or "次数" in name or "数" in name
    small = values.size > 0 and values.max() <= 100 and np.unique(values).size <= 20
    if whole and non_negative and (counted or small):
        return {"kind": "count"}
    return {"kind": "number"}


def _directions(data: pd.DataFrame, model: Any, higher_is: str, columns: list[str]) -> dict[str, str]:
    """Each numeric column's direction, from the rank correlation of its values with the model's score."""
    if model is None:
        return {}
    sample = data.iloc[: min(len(data), 2000)]
    try:  # a rank correlation: the probability orders accounts as the margin does
        if hasattr(model, "predict_proba"):
            scores = np.asarray(model.predict_proba(sample), dtype=float)[:, -1]
        else:
            scores = np.asarray(model(sample), dtype=float).reshape(-1)
    except Exception:  # noqa: BLE001 - a draft without directions is still a draft; a person sets them
        return {}
    risk = scores if higher_is == "risk" else -scores
    found = {}
    for column in columns:
        series = sample[column]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series) or series.nunique() < 2:
            continue
        rho = pd.Series(series.to_numpy(dtype=float)).corr(pd.Series(risk), method="spearman")
        if np.isfinite(rho) and abs(rho) >= 0.05:
            found[column] = "higher_is_riskier" if rho > 0 else "higher_is_safer"
    return found


def draft_catalog(data: pd.DataFrame, *, model: Any = None, name: str = "draft", target: str | None = None,
                  higher_is: str = "risk", ignore: Iterable[str] = ()) -> FeatureCatalog:
    """A starting catalog for ``data`` (and ``model``, for directions): one group per column.

    Protected-looking columns are marked ``protected``; every phrase starts with ``TODO`` so that
    :func:`~explain.check_catalog` refuses the draft until a person has written the wording.
    """
    skip = set(ignore) | ({target} if target else set())
    columns = [c for c in data.columns if c not in skip]
    directions = _directions(data[columns], model, higher_is, columns)
    groups: dict[str, Any] = {}
    features: dict[str, Any] = {}
    for column in columns:
        series = data[column]
        spec = _value_kind(str(column), series)
        categories = sorted(series.dropna().astype(str).unique()) if spec["kind"] == "category" else []
        trait = protected_trait(str(column), categories)
        label = str(column).replace("_", " ").strip().capitalize()
        group: dict[str, Any] = {"label": label, "features": [column],
                                 "direction": directions.get(column, "none"), "actionable": False}
        if trait is not None:  # never shown to a customer: a plain wording, still translated for reviewers
            group["protected"] = True
            group["adverse"] = f"{label} (protected: {trait}; never given as a reason)."
            group["favourable"] = f"{label} (protected: {trait}; never given as a reason)."
        else:
            # A whole sentence, never "label: value" (e.g. "You have lived at your address for {value}.").
            group["adverse"] = f"TODO: one whole sentence on why {label.lower()}, {{value}}, counted against the customer."
            group["favourable"] = f"TODO: one whole sentence on why {label.lower()}, {{value}}, counted in the customer's favour."
        groups[str(column)] = group
        if categories:
            spec["categories"] = {value: (value if trait else f"TODO: {value}") for value in categories}
        if spec["kind"] == "count":
            spec["unit"] = ["TODO: {count} thing", "TODO: {count} things"]
        features[str(column)] = spec
    return FeatureCatalog.from_dict({"catalog": {"name": name, "version": "0", "top": 4, "materiality": 0.02},
                                     "groups": groups, "features": features, "policy": {}})


def catalog_to_dict(catalog: FeatureCatalog) -> dict[str, Any]:
    """The TOML structure of a catalog (``tomli_w.dumps`` writes it), omitting defaults."""
    groups = {}
    for code, group in catalog.groups.items():
        table: dict[str, Any] = {"label": group.label, "features": list(group.features), "direction": group.direction}
        if group.display != group.features[0]:
            table["display"] = group.display
        table["actionable"] = group.actionable
        if group.protected:
            table["protected"] = True
        for key in ("adverse", "favourable", "advice", "rationale", "short"):
            if getattr(group, key):
                table[key] = getattr(group, key)
        if group.advice_when:
            table["advice_when"] = dict(group.advice_when)
        groups[code] = table
    features = {}
    for name, spec in catalog.features.items():
        table = {"kind": spec.kind}
        if spec.kind == "percent":
            table["scale"] = spec.scale
        if spec.currency:
            table["currency"] = spec.currency
        if spec.unit:
            table["unit"] = list(spec.unit)
        if spec.direction:
            table["direction"] = spec.direction
        if spec.order:
            table["order"] = list(spec.order)
        for key in ("adverse", "favourable", "advice", "short"):
            if getattr(spec, key):
                table[key] = getattr(spec, key)
        if spec.advice_when:
            table["advice_when"] = dict(spec.advice_when)
        if spec.categories:
            table["categories"] = dict(spec.categories)
        features[name] = table
    policy = {code: {k: v for k, v in (("label", p.label), ("adverse", p.adverse), ("favourable", p.favourable),
                                       ("advice", p.advice)) if v}
              for code, p in catalog.policy_reasons.items()}
    return {"catalog": {"name": catalog.name, "version": catalog.version, "top": catalog.top,
                        "materiality": catalog.materiality}, "groups": groups, "features": features, "policy": policy}
