"""Rows of an input table made ready for a model, and a bad row kept from holding back the good ones.

Shared by the batch and the governance comparison: both read accounts from the same kind of file, both
must turn text in a number column into an error naming the field, and both split a failing call in
halves until the failing rows are alone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

import pandas as pd

from explain._exceptions import ExplainError

__all__ = ["bisected", "error_field", "typed_features"]


def typed_features(chunk: pd.DataFrame, features: Sequence[str],
                   numeric: Collection[str]) -> tuple[pd.DataFrame, dict[Any, tuple[str, str]]]:
    """``chunk``'s ``features`` in the dtypes the model takes (``numeric`` ones as floats, the rest as text
    or None); a value that is not a number in a numeric column is a per-row (field, message) problem."""
    X = chunk.loc[:, list(features)].copy()
    problems: dict[Any, tuple[str, str]] = {}
    for column in features:
        raw = X[column]
        if column in numeric:
            if not pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
                numbers = pd.to_numeric(raw, errors="coerce")
                for position in raw.index[numbers.isna().to_numpy() & raw.notna().to_numpy()]:
                    problems.setdefault(position, (f"features.{column}", f"a number; got {raw.at[position]!r}"))
                X[column] = numbers.astype(float)
        elif not (pd.api.types.is_object_dtype(raw.dtype) or pd.api.types.is_string_dtype(raw.dtype)):
            X[column] = raw.astype(object).where(raw.notna(), None).map(lambda v: v if v is None else str(v))
    return X, problems


def bisected(call: Callable[[pd.DataFrame], Sequence[Any]], X: pd.DataFrame) -> Iterator[tuple[Any, Any]]:
    """(row, result or the ExplainError) for every row of ``X``: ``call`` on all rows, and where it fails on
    input, on each half in turn, down to the single rows that fail."""
    try:
        results = call(X)
    except ExplainError as exc:
        if len(X) == 1:
            yield X.index[0], exc
            return
        half = len(X) // 2
        yield from bisected(call, X.iloc[:half])
        yield from bisected(call, X.iloc[half:])
        return
    yield from zip(X.index, results, strict=True)


def error_field(exc: ExplainError) -> str:
    """The field an error row names: the feature columns at fault, else the error's own field."""
    columns = getattr(exc, "columns", ())
    if columns:
        return "features." + ",".join(columns)
    return str(getattr(exc, "field", "") or type(exc).__name__)
