"""One account from plain values (a parsed JSON object), explained without building a pandas frame.

The service explains one account per request. Through a one-row frame, pandas costs more than the attribution
itself (building the frame, the per-column dtype checks, the sub-frame selections: about 2 ms of the 2.5 ms
``analyse`` took). When every value is plainly valid (each model input present, a finite number where a number
is expected, a known category where a category is) and the model has our prepared tree kernels and a verified
NumPy transform, this module produces the same floats from the values directly. Anything else, every bad input
included, returns None and the caller takes the frame path, which checks, names and words what is wrong; so
the two paths never disagree on an input, and on a valid one they compute the same bits (the transform's row
form is proven equal to its frame form when the model is loaded; ``tests/explain/test_one_row.py`` compares the
results).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["OneRow", "explain_row", "plain_values"]

_EXACT_INT = 2**53  # integers beyond this are not exact as floats: left to the frame path's checks


@dataclass(frozen=True)
class OneRow:
    """An account explained: its values (model order), model-space row, contributions and group sums (1 row)."""

    explainer: Any
    features: Mapping[str, Any]
    values: tuple[Any, ...]
    model_row: np.ndarray
    contributions: np.ndarray
    groups: np.ndarray
    base_values: np.ndarray
    margins: np.ndarray
    scores: np.ndarray

    def feature_column(self, feature: str) -> tuple[list[Any], list[float | None], bool]:
        """The feature's value and standing in the background, as ``Explainer._feature_column`` gives them."""
        value = self.features[feature]
        return self.explainer._standing(feature, [value], lambda: np.array([value], dtype=float))  # noqa: SLF001


def plain_values(adapter: Any, features: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The values in model order when each is plainly valid for its column, else None."""
    if len(features) != len(adapter.raw_features):
        return None
    values = []
    for spec in adapter.columns:
        if spec.name not in features:
            return None
        v = features[spec.name]
        kind = type(v)
        if spec.numeric:
            if kind is int:
                if not -_EXACT_INT <= v <= _EXACT_INT:
                    return None
            elif kind is not float or not math.isfinite(v):
                return None
        elif spec.categories is None or kind is not str or v not in spec.categories:
            return None
        values.append(v)
    return tuple(values)


def _within_rules(checks: Any, values: tuple[Any, ...]) -> bool:
    """True when :meth:`InputChecks.check` would flag nothing (missing values never get this far)."""
    from explain.notices._formatting import MAX_MAGNITUDE

    for k, j in enumerate(checks.num):
        x = float(values[j])
        if x < checks.low[k] or x > checks.high[k] or abs(x) >= MAX_MAGNITUDE:
            return False
    for j in checks.cat:
        rule = checks.rules[checks.features[j]]
        if rule.categories is not None and str(values[j]) not in rule.categories:
            return False
    return True


def explain_row(explainer: Any, features: Mapping[str, Any]) -> OneRow | None:
    """The account explained without a frame, or None where the frame path must decide."""
    from explain.attribution._attribution import _EXACT_TOLERANCE, group_sums

    adapter = explainer._adapter  # noqa: SLF001
    row_of = getattr(adapter.transform, "row", None)
    catalog = explainer.catalog
    if (row_of is None or explainer._prepared is None or catalog is None or not catalog.groups  # noqa: SLF001
            or explainer._input_checks.features != adapter.raw_features):  # noqa: SLF001
        return None
    values = plain_values(adapter, features)
    if values is None or not _within_rules(explainer._input_checks, values):  # noqa: SLF001
        return None
    try:
        model_row = row_of(features)
    except (KeyError, TypeError, ValueError):
        return None
    phi, base, margin = explainer._attribute_prepared(model_row)  # noqa: SLF001
    scale = np.abs(phi).sum(axis=1) + np.abs(base)
    tolerance = _EXACT_TOLERANCE + explainer._float32_rtol * scale  # noqa: SLF001
    if np.any(np.abs(base + phi.sum(axis=1) - margin) > tolerance):
        return None  # the frame path raises the AdditivityError, with its numbers
    groups = np.column_stack(list(group_sums(phi, adapter.raw_features, catalog).values()))
    return OneRow(explainer, features, values, model_row, phi, groups, base, margin,
                  np.asarray(adapter.score_from_margin(margin)))
