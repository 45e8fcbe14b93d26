"""One bundle's principal reasons for a chunk of accounts, with the bad rows set aside.

The accounts of a chunk are explained in one call per (decision kind, policy reasons) pair through the
public :meth:`~explain.Explainer.reasons`, exactly as ``explain batch`` does, so the reasons compared here
are the reasons a notice would carry. A call that fails on input is split in halves until the failing
rows are alone; each becomes an error naming the field.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from explain._exceptions import ExplainError

__all__ = ["Explained", "explain_rows", "typed_features"]


@dataclass(frozen=True)
class Explained:
    """One bundle's view of a chunk: per explained row, its reasons and grouped contributions."""

    results: dict[Any, Any]  # row position -> DecisionReasons
    errors: dict[Any, tuple[str, str]]  # row position -> (field, message)


def typed_features(background: pd.DataFrame, chunk: pd.DataFrame) -> tuple[pd.DataFrame, dict[Any, tuple[str, str]]]:
    """The model's inputs in the dtypes its background has; text in a number column is a per-row error."""
    missing = [c for c in background.columns if c not in chunk.columns]
    if missing:
        from explain._exceptions import InvalidInputError

        raise InvalidInputError(f"--input column {missing[0]!r}", "every feature the bundles take", list(chunk.columns))
    X = chunk.loc[:, list(background.columns)].copy()
    problems: dict[Any, tuple[str, str]] = {}
    for column in background.columns:
        raw = X[column]
        if pd.api.types.is_numeric_dtype(background[column]):
            if not pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
                numbers = pd.to_numeric(raw, errors="coerce")
                for position in raw.index[numbers.isna().to_numpy() & raw.notna().to_numpy()]:
                    problems.setdefault(position, (f"features.{column}", f"a number; got {raw.at[position]!r}"))
                X[column] = numbers.astype(float)
        elif not (pd.api.types.is_object_dtype(raw.dtype) or pd.api.types.is_string_dtype(raw.dtype)):
            X[column] = raw.astype(object).where(raw.notna(), None).map(lambda v: v if v is None else str(v))
    return X, problems


def _bisected(explainer: Any, X: pd.DataFrame, kind: str, policy: tuple[str, ...]) -> Iterator[tuple[Any, Any]]:
    try:
        results = explainer.reasons(X, decision=kind, policy_reasons=policy)
    except ExplainError as exc:
        if len(X) == 1:
            yield X.index[0], exc
            return
        half = len(X) // 2
        yield from _bisected(explainer, X.iloc[:half], kind, policy)
        yield from _bisected(explainer, X.iloc[half:], kind, policy)
        return
    yield from zip(X.index, results, strict=True)


def _error_field(exc: ExplainError) -> str:
    columns = getattr(exc, "columns", ())
    if columns:
        return "features." + ",".join(columns)
    return str(getattr(exc, "field", "") or type(exc).__name__)


def explain_rows(explainer: Any, background: pd.DataFrame, chunk: pd.DataFrame, kinds: Sequence[str],
                 policies: Sequence[tuple[str, ...]]) -> Explained:
    """Reasons for every row of ``chunk`` (``kinds`` and ``policies`` aligned with its rows)."""
    X, problems = typed_features(background, chunk)
    errors = dict(problems)
    clean = X.drop(index=list(problems))
    kind_of = pd.Series(list(kinds), index=chunk.index, dtype=object)
    policy_of = pd.Series(list(policies), index=chunk.index, dtype=object)
    keys = kind_of.loc[clean.index].astype(str) + "|" + policy_of.loc[clean.index].map(";".join)
    results: dict[Any, Any] = {}
    for key, rows in clean.groupby(keys.to_numpy(), sort=True).groups.items():
        kind, _, policy = key.partition("|")
        for position, outcome in _bisected(explainer, clean.loc[rows], kind, tuple(p for p in policy.split(";") if p)):
            if isinstance(outcome, ExplainError):
                errors[position] = (_error_field(outcome), str(outcome))
            else:
                results[position] = outcome
    return Explained(results=results, errors=errors)


def group_matrix(results: Sequence[Any], codes: Sequence[str]) -> np.ndarray:
    """Grouped contributions of ``results`` (rows) over ``codes`` (columns); a group a bundle lacks is 0."""
    out = np.zeros((len(results), len(codes)))
    for i, result in enumerate(results):
        contributions = result.group_contributions
        out[i] = [contributions.get(c, 0.0) for c in codes]
    return out
