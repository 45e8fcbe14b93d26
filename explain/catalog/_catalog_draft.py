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

__all__ = ["catalog_to_dict", "draft_catalog", "kind_contradiction", "kind_from_name", "protected_trait"]

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


#: Name hints per value kind, tried in this order (a rate of something counted is a rate, a count of months
#: a count, a monthly income money): English whole words, Chinese fragments.
KIND_HINTS: tuple[tuple[str, frozenset[str], tuple[str, ...]], ...] = (
    ("percent", frozenset({"pct", "percent", "percentage", "ratio", "rate", "utilisation", "utilization", "share",
                           "dti", "usage"}), ("率", "占比", "比例", "比率", "百分比")),
    ("count", frozenset({"count", "counts", "number", "num", "n", "times", "inquiries", "enquiries", "accounts",
                         "cnt", "nbr"}), ("次数", "笔数", "个数", "张数", "户数", "人数")),
    ("money", frozenset({"amount", "income", "balance", "limit", "salary", "debt", "spend", "spending", "savings",
                         "deposit", "money", "cny", "rmb", "usd", "eur"}),
     ("收入", "金额", "余额", "工资", "薪", "负债", "存款", "消费额", "还款额", "额度", "欠款")),
    ("months", frozenset({"month", "months", "duration", "term", "tenure", "mob"}), ("月数", "账龄", "期数", "期限")),
    ("years", frozenset({"year", "years", "age"}), ("年数", "年限", "年龄", "工龄")),
)
#: The values each kind can take, to check a name's hint against the data: (low, high, whole numbers only).
_PLAUSIBLE = {"count": (0, None, True), "months": (0, 1200, False), "years": (0, 150, False)}


def kind_from_name(name: str) -> str | None:
    """The value kind a column's name suggests (English words or Chinese fragments), or None."""
    tokens = _tokens(name)
    for kind, words, fragments in KIND_HINTS:
        if tokens & words or any(f in name for f in fragments):
            return kind
    return None


def kind_contradiction(kind: str, values: np.ndarray, *, scale: str = "fraction") -> str | None:
    """Why ``values`` cannot be of ``kind`` (e.g. "months" up to 28,670), or None when they can."""
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    low, high = float(values.min()), float(values.max())
    if kind == "percent":
        top = 1.0 if scale == "fraction" else 100.0
        if low < 0 or high > top:
            return (f"a percent written as {'a fraction (0-1)' if scale == 'fraction' else '0-100'} cannot be "
                    f"{low:g} to {high:g}")
        return None
    if kind in _PLAUSIBLE:
        floor, ceiling, whole = _PLAUSIBLE[kind]
        if low < floor or (ceiling is not None and high > ceiling):
            return f"{kind} from {floor} to {ceiling if ceiling is not None else 'any'} cannot be {low:g} to {high:g}"
        if whole and not np.all(np.equal(np.mod(values, 1), 0)):
            return f"a {kind} is a whole number, but some values have fractions"
    return None


def _value_kind(name: str, series: pd.Series) -> dict[str, Any]:
    """The value kind a column's name suggests, checked against its values (``kind``; ``scale`` for percents).

    A hint the data contradicts is dropped: a "percent" over 100 or a "months" of 28,670 is a plain number.
    """
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return {"kind": "category"}
    values = series.dropna().to_numpy(dtype=float)
    hint = kind_from_name(name)
    if hint == "percent":
        for scale in ("fraction", "percent"):
            if kind_contradiction("percent", values, scale=scale) is None:
                return {"kind": "percent", "scale": scale}
        return {"kind": "number"}
    if hint is not None and kind_contradiction(hint, values) is None:
        return {"kind": hint}
    whole = values.size > 0 and bool(np.all(np.equal(np.mod(values, 1), 0)))
    small = values.size > 0 and values.min() >= 0 and values.max() <= 100 and np.unique(values).size <= 20
    if hint is None and whole and small:
        return {"kind": "count"}
    return {"kind": "number"}


def _scores(data: pd.DataFrame, model: Any) -> np.ndarray:
    """The model's margin for each row of ``data``, whatever the model: an estimator, a pipeline, a loaded
    XGBoost (JSON/UBJ) or LightGBM (text) model, or a callable (typed by :func:`frame_for_model`)."""
    from explain.attribution._models import adapt_model, frame_for_model

    frame = frame_for_model(model, data)
    adapter = adapt_model(model, background=frame)
    rows = adapter.validate(frame.loc[:, [c for c in adapter.raw_features if c in frame.columns]])
    if adapter.family == "agnostic":
        return np.asarray(adapter.raw_margin(rows), dtype=float)  # type: ignore[attr-defined]
    return np.asarray(adapter.margin_fn(adapter.transform(rows)), dtype=float)


def _directions(data: pd.DataFrame, model: Any, higher_is: str, columns: list[str]) -> dict[str, str]:
    """Each numeric column's direction, from the rank correlation of its values with the model's score.

    The model must score the data: a model that cannot (other columns, unknown categories) is an error
    naming why, never a draft whose directions are all silently "none".
    """
    if model is None:
        return {}
    sample = data.iloc[: min(len(data), 2000)]
    risk = _scores(sample, model)
    risk = risk if higher_is == "risk" else -risk
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
        for key in ("min", "max", "missing"):
            if getattr(spec, key) is not None:
                table[key] = getattr(spec, key)
        if spec.categories:
            table["categories"] = dict(spec.categories)
        features[name] = table
    policy = {code: {k: v for k, v in (("label", p.label), ("adverse", p.adverse), ("favourable", p.favourable),
                                       ("advice", p.advice)) if v}
              for code, p in catalog.policy_reasons.items()}
    return {"catalog": {"name": catalog.name, "version": catalog.version, "top": catalog.top,
                        "materiality": catalog.materiality}, "groups": groups, "features": features, "policy": policy}
