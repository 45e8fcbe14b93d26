"""One verdict per input: every value of a decision checked against what its catalog declares, before any
reason is chosen.

Which reasons a decision shows depends on the decision (a decrease shows what pushed toward risk, an increase
what pushed toward approval), so a check made only while a reason is phrased would refuse an input for one
decision and accept it for another. Here every input is judged whole, whatever the decision:

- a declared range: a percent written as a fraction is 0-1 (``scale = "percent"``: 0-100), counts, months and
  years are 0 or more, and ``min``/``max`` in the catalog replace those bounds; every number is below
  :data:`~explain.notices._formatting.MAX_MAGNITUDE` in size (what a notice can print);
- a category the catalog words (a ``category`` feature with ``categories``);
- a missing value only where the model takes one and the catalog accepts it: ``missing = true``, or by default
  when no phrase the feature can be shown with prints ``{value}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explain._exceptions import FeatureMismatchError

__all__ = ["InputChecks", "InputRule", "check_inputs", "input_rules"]

#: The range each value kind declares by itself: (low, high), None for no bound.
_KIND_RANGES: dict[str, tuple[float | None, float | None]] = {
    "count": (0, None), "months": (0, None), "years": (0, None),
}
_KIND_WHY = {"count": "a count is 0 or more", "months": "a number of months is 0 or more",
             "years": "a number of years is 0 or more"}
_PERCENT_RANGES = {"fraction": (0.0, 1.0), "percent": (0.0, 100.0)}


@dataclass(frozen=True)
class InputRule:
    """What one input may be: a range (numbers), the worded categories, whether it may be missing."""

    feature: str
    low: float | None = None
    high: float | None = None
    categories: frozenset[str] | None = None
    missing_ok: bool = True
    why: str = ""  # what the range means, for the message ("a percent written as a fraction")

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            text = f"from {_num(self.low)} to {_num(self.high)}"
        elif self.low is not None:
            text = f"{_num(self.low)} or more"
        elif self.high is not None:
            text = f"{_num(self.high)} or less"
        else:
            text = "a number"
        return f"{self.feature} {text}" + (f" ({self.why})" if self.why else "")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _shows_value(catalog, feature: str) -> bool:  # noqa: ANN001 - FeatureCatalog (import cycle)
    spec = catalog.features[feature]
    group = catalog.groups[spec.group]
    phrases = [spec.adverse or group.adverse, spec.favourable or group.favourable]
    return any(p is not None and "{value}" in p for p in phrases)


def input_rules(catalog, nan_ok: Mapping[str, bool] | None = None) -> dict[str, InputRule]:  # noqa: ANN001
    """Each catalogued feature's rule; ``nan_ok`` says which inputs the model itself takes missing."""
    nan_ok = nan_ok or {}
    rules = {}
    for feature, spec in catalog.features.items():
        low, high = _KIND_RANGES.get(spec.kind, (None, None))
        why = _KIND_WHY.get(spec.kind, "")
        if spec.kind == "percent":
            low, high = _PERCENT_RANGES[spec.scale]
            why = ("a percent written as a fraction: 0.92 is 92%" if spec.scale == "fraction"
                   else "a percent written as 0-100")
        if spec.min is not None or spec.max is not None:  # each replaces its own side of the kind's range
            low = spec.min if spec.min is not None else low
            high = spec.max if spec.max is not None else high
            why = "as the catalog declares"
        declared = spec.missing if spec.missing is not None else not _shows_value(catalog, feature)
        categories = frozenset(spec.categories) if spec.kind == "category" and spec.categories else None
        rules[feature] = InputRule(feature, low, high, categories,
                                   missing_ok=bool(nan_ok.get(feature, True)) and declared, why=why)
    return rules


class InputChecks:
    """The rules of a model's inputs, laid out once for vectorised checks (one account per request is the
    service's shape: the check must cost little next to the attribution).

    ``features`` is the order of the frames to check (the model's raw features); ``numeric`` says which of
    them hold numbers (the others are categories or text).
    """

    def __init__(self, rules: Mapping[str, InputRule], features: tuple[str, ...] | list[str],
                 numeric: Mapping[str, bool]) -> None:
        self.rules = dict(rules)
        self.features = tuple(features)
        ruled = [j for j, f in enumerate(self.features) if f in self.rules]
        self.num = [j for j in ruled if numeric.get(self.features[j], False) and self.rules[self.features[j]].categories is None]
        self.cat = [j for j in ruled if j not in set(self.num)]
        rule = [self.rules[self.features[j]] for j in self.num]
        self.low = np.array([-np.inf if r.low is None else r.low for r in rule], dtype=np.float64)
        self.high = np.array([np.inf if r.high is None else r.high for r in rule], dtype=np.float64)
        self.num_missing_ok = np.array([r.missing_ok for r in rule], dtype=bool)

    def check(self, X: pd.DataFrame) -> None:
        """Refuse ``X`` (in ``features`` order) if any value breaks its rule, naming every offending field,
        its range and the first offending value."""
        from explain.notices._formatting import MAX_MAGNITUDE

        if tuple(X.columns) != self.features:
            X = X.loc[:, list(self.features)]
        flagged: set[str] = set()
        block = X.to_numpy(dtype=object)  # one conversion for both kinds: a frame slice costs more than a row
        if self.num:
            try:
                values = block[:, self.num].astype(np.float64)
            except (TypeError, ValueError):  # pd.NA and friends: pandas knows how
                values = X.iloc[:, self.num].to_numpy(dtype=np.float64, na_value=np.nan)
            missing = np.isnan(values)
            bad = (values < self.low) | (values > self.high) | (np.abs(values) >= MAX_MAGNITUDE) \
                | (missing & ~self.num_missing_ok)
            if bad.any():
                flagged.update(self.features[self.num[k]] for k in np.flatnonzero(bad.any(axis=0)))
        if self.cat:
            for j in self.cat:
                rule = self.rules[self.features[j]]
                for v in block[:, j].tolist():
                    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
                        if not rule.missing_ok:
                            flagged.add(rule.feature)
                            break
                    elif rule.categories is not None and str(v) not in rule.categories:
                        flagged.add(rule.feature)
                        break
        if flagged:
            check_inputs(X.loc[:, [f for f in self.features if f in flagged]], self.rules)


def check_inputs(X: pd.DataFrame, rules: Mapping[str, InputRule]) -> None:
    """Refuse ``X`` if any value breaks its rule, naming every offending field, its range and the value
    (the thorough form of :meth:`InputChecks.check`, which calls it to word what it found)."""
    from explain.notices._formatting import MAX_MAGNITUDE

    bad: dict[str, tuple[str, object]] = {}
    missing: list[str] = []
    for feature, rule in rules.items():
        if feature not in X.columns:
            continue
        column = X[feature]
        isna = column.isna().to_numpy()
        if isna.any() and not rule.missing_ok:
            missing.append(feature)
        if rule.categories is not None:
            values = column.to_numpy(dtype=object)[~isna]
            unknown = [v for v in values.tolist() if str(v) not in rule.categories]
            if unknown:
                bad[feature] = (f"{feature} one of {sorted(rule.categories)} (the categories the catalog words)",
                                unknown[0])
            continue
        if not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
            continue
        values = column.to_numpy(dtype=np.float64)
        present = values[~isna]
        outside = np.abs(present) >= MAX_MAGNITUDE
        if rule.low is not None:
            outside |= present < rule.low
        if rule.high is not None:
            outside |= present > rule.high
        if outside.any():
            first = present[np.flatnonzero(outside)[0]]
            shown = rule.describe() if (rule.low is not None or rule.high is not None) else \
                f"{feature} smaller than {MAX_MAGNITUDE:.0e} in size"
            bad[feature] = (shown, _num(first))
    if bad:
        raise FeatureMismatchError(
            "out of its declared range", list(bad),
            expected="; ".join(expected for expected, _ in bad.values()),
            got=", ".join(f"{feature}={value}" for feature, (_, value) in bad.items()),
        )
    if missing:
        raise FeatureMismatchError(
            "missing value the catalog does not accept", missing,
            expected="a value (a phrase shows it to the customer; declare missing = true for the feature in the "
                     "catalog if a missing value is meaningful and no phrase prints {value})",
        )
