"""Data sanity before scoring: a column that is missing where the model's reference population is not.

A column present but entirely empty (a failed join, a renamed field upstream) scores as "missing" for every
account and then reads as a reason; so do values missing far more often than in the background. Both are
refused before anything is scored, naming the columns. A single account's missing value is its own fact
(models that take missing values route it), so it is judged only as part of a batch.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from explain._exceptions import FeatureMismatchError

__all__ = ["MISSING_EXCESS", "check_missingness", "missing_rates"]

#: How far (as a share of rows) a batch's missing rate may exceed the background's before it is refused.
MISSING_EXCESS = 0.5
#: The batch size from which a missing rate is judged (smaller batches: only wholly empty columns).
_MIN_ROWS_FOR_RATE = 20


def missing_rates(background: pd.DataFrame | None) -> dict[str, float]:
    """Each column's share of missing values in the background."""
    if background is None or not len(background):
        return {}
    return {str(c): float(v) for c, v in background.isna().mean().items()}


def check_missingness(X: pd.DataFrame, background_rates: Mapping[str, float]) -> None:
    """Refuse columns that are missing beyond what the background shows, naming them."""
    if len(X) < 2:  # one account's missing value is its own fact
        return
    missing = X.isna()
    if len(X) >= 2:
        empty = [c for c in X.columns if missing[c].all()]
        if empty:
            raise FeatureMismatchError("entirely missing (every row is empty)", empty,
                                       expected="values in at least some rows", got="no value at all")
    if len(X) >= _MIN_ROWS_FOR_RATE:
        rates = missing.mean()
        excess = [c for c in X.columns if rates[c] - background_rates.get(str(c), 0.0) > MISSING_EXCESS]
        if excess:
            shown = ", ".join(f"{c} {rates[c]:.0%} vs {background_rates.get(str(c), 0.0):.0%}" for c in excess)
            raise FeatureMismatchError("missing far more often than in the background", excess,
                                       expected=f"a missing rate within {MISSING_EXCESS:.0%} of the background's",
                                       got=shown)
