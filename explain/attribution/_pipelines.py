"""Reading a fitted scikit-learn pipeline: which raw column feeds each model column, what each raw column
must look like, and a NumPy restatement of simple column transformers that is used only once it matches
scikit-learn bit for bit.

Split from ``_models`` (recognising a model and building its adapter), which calls these three things.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from explain._exceptions import ModelNotSupportedError

__all__ = ["ColumnSpec", "feature_names_out", "pipeline_structure", "verified_fast_transform"]


@dataclass(frozen=True)
class ColumnSpec:
    """What one raw input column must look like."""

    name: str
    numeric: bool
    categories: frozenset | None = None  # known categories, when the model knows them
    nan_ok: bool = False


# ------------------------------------------------------------------------------------ pipeline structure
def feature_names_out(prefix: Any, n: int) -> list[str]:
    try:
        return list(prefix.get_feature_names_out())
    except Exception:  # some transformers cannot name their outputs; positions are still meaningful
        return [f"column_{i}" for i in range(n)]


def _last_step(trans: Any) -> Any:
    from sklearn.pipeline import Pipeline

    return trans.steps[-1][1] if isinstance(trans, Pipeline) else trans


def _has_step(trans: Any, kinds: tuple[str, ...]) -> bool:
    from sklearn.pipeline import Pipeline

    steps = [s for _, s in trans.steps] if isinstance(trans, Pipeline) else [trans]
    return any(type(s).__name__ in kinds for s in steps)


def pipeline_structure(prefix: Any, raw: tuple[str, ...], *, nan_native: bool) -> tuple[np.ndarray, tuple[ColumnSpec, ...]]:
    """Map every transformed column back to the raw column it came from, and learn each raw column's shape."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    steps = [s for _, s in prefix.steps] if isinstance(prefix, Pipeline) else [prefix]
    first, rest = steps[0], steps[1:]
    index = {c: i for i, c in enumerate(raw)}
    specs: dict[str, ColumnSpec] = {c: ColumnSpec(c, numeric=True, nan_ok=nan_native) for c in raw}

    if isinstance(first, ColumnTransformer):
        blocks = []
        for name, trans, cols in first.transformers_:
            sl = first.output_indices_.get(name, slice(0, 0))
            width = sl.stop - sl.start
            if trans == "drop" or width == 0:
                continue
            cols = _resolve_columns(cols, raw)
            blocks.append((name, trans, cols, sl))
        n_out = max(sl.stop for *_, sl in blocks)
        owners = np.full(n_out, -1, dtype=np.int64)
        for name, trans, cols, sl in blocks:
            width = sl.stop - sl.start
            last = _last_step(trans) if trans != "passthrough" else None
            encoder_name = type(last).__name__ if last is not None else ""
            if encoder_name == "OneHotEncoder":
                counts = getattr(last, "_n_features_outs", None) or [len(c) for c in last.categories_]
                owners[sl] = np.repeat([index[c] for c in cols], counts)
            elif width == len(cols):
                owners[sl] = [index[c] for c in cols]
            elif len(cols) == 1:
                owners[sl] = index[cols[0]]
            else:
                raise ModelNotSupportedError(
                    first, f"transformer {name!r} turns {len(cols)} columns into {width}; cannot map them back"
                )
            _refuse_mixing(trans)
            imputed = trans != "passthrough" and _has_step(trans, ("SimpleImputer", "KNNImputer", "IterativeImputer"))
            if encoder_name in ("OneHotEncoder", "OrdinalEncoder"):
                for c, cats in zip(cols, last.categories_, strict=True):
                    known = [v for v in cats if not (isinstance(v, float) and np.isnan(v))]
                    has_nan = len(known) < len(cats)
                    categorical = not all(isinstance(v, int | float | np.number) for v in known)
                    specs[c] = ColumnSpec(
                        c,
                        numeric=not categorical,
                        categories=frozenset(map(str, known)) if categorical else frozenset(known),
                        # NaN is a category only if the encoder saw it when fitted (or an imputer fills it).
                        nan_ok=has_nan or imputed,
                    )
            else:
                for c in cols:
                    specs[c] = ColumnSpec(c, numeric=True, nan_ok=nan_native or imputed)
        if (owners < 0).any():
            raise ModelNotSupportedError(first, "some transformed columns could not be traced to an input column")
    else:
        n_out = len(raw)
        owners = np.arange(n_out)
        rest = steps
    # Later steps must keep one column per column (scaling, imputation): anything else breaks the mapping.
    for step in rest:
        _refuse_mixing(step)
        n_in = getattr(step, "n_features_in_", None)
        n_step_out = len(getattr(step, "get_feature_names_out", lambda: [None] * (n_in or 0))())
        if n_in is not None and n_step_out not in (0, n_in):
            raise ModelNotSupportedError(step, "a pipeline step after the first must keep one output per input")
    return owners, tuple(specs[c] for c in raw)


# Transformers whose every output mixes several inputs: no output column belongs to one raw feature, so
# no exact per-raw-feature attribution exists through them.
_MIXING = {"PCA", "IncrementalPCA", "KernelPCA", "SparsePCA", "MiniBatchSparsePCA", "TruncatedSVD", "FastICA", "NMF",
           "MiniBatchNMF", "FactorAnalysis", "PolynomialFeatures", "Normalizer", "GaussianRandomProjection",
           "SparseRandomProjection", "Nystroem", "RBFSampler", "LinearDiscriminantAnalysis", "PLSRegression",
           "PLSCanonical", "CCA"}


def _refuse_mixing(trans: Any) -> None:
    from sklearn.pipeline import Pipeline

    steps = [s for _, s in trans.steps] if isinstance(trans, Pipeline) else [trans]
    for step in steps:
        if type(step).__name__ in _MIXING:
            raise ModelNotSupportedError(
                step,
                f"{type(step).__name__} mixes several inputs into each output, so contributions cannot be given "
                "per raw input exactly; pass a callable f(DataFrame) -> scores (with a background) to have it "
                "explained model-agnostically by seeded permutation over raw features",
            )


def _resolve_columns(cols: Any, raw: tuple[str, ...]) -> list[str]:
    if isinstance(cols, str):
        return [cols]
    if isinstance(cols, slice):
        return list(np.asarray(raw)[cols])
    arr = np.asarray(cols)
    if arr.dtype == bool:
        return [raw[i] for i in np.flatnonzero(arr)]
    if np.issubdtype(arr.dtype, np.integer):
        return [raw[i] for i in arr]
    return [str(c) for c in arr]


# --------------------------------------------------------------------------------- fast column transform
def verified_fast_transform(
    prefix: Any, background: pd.DataFrame | None, reference: Callable[[pd.DataFrame], np.ndarray]
) -> Callable[[pd.DataFrame], np.ndarray] | None:
    """A NumPy restatement of a simple fitted ColumnTransformer, used only once it matches scikit-learn.

    Explaining one account at a time, scikit-learn's per-call input checks cost more than the encoding
    itself (about 3 ms for the demo pipeline against 0.2 ms). For the plain pieces (passthrough,
    OrdinalEncoder, OneHotEncoder without drop or infrequent categories, StandardScaler) we apply the fitted
    attributes directly, and keep the result only if it equals ``reference`` bit for bit on the background
    (the caller's own rows). Anything else, or any difference, keeps scikit-learn's transform.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    if isinstance(prefix, Pipeline) and len(prefix.steps) == 1:
        prefix = prefix.steps[0][1]
    if background is None or not isinstance(prefix, ColumnTransformer):
        return None
    steps = []
    for name, trans, cols in prefix.transformers_:
        sl = prefix.output_indices_.get(name, slice(0, 0))
        if trans == "drop" or sl.stop == sl.start:
            continue
        step = _fast_step(trans, list(cols) if not isinstance(cols, str) else [cols], prefix)
        if step is None:
            return None
        steps.append((sl, *step))
    width = max(sl.stop for sl, _, _ in steps)

    def fast(X: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(X), width), dtype=np.float64)
        for sl, step, _ in steps:
            out[:, sl] = step(X)
        return out

    def row(values: Mapping[str, Any]) -> np.ndarray:
        """One account given as plain values by column name (no frame): the same floats as ``fast``."""
        out = np.empty((1, width), dtype=np.float64)
        for sl, _, step in steps:
            out[0, sl] = step(values)
        return out

    try:
        sample = background.iloc[: min(len(background), 500)]
        same = np.array_equal(fast(sample), reference(sample), equal_nan=True)
        records = sample.to_dict(orient="records")
        same = same and all(np.array_equal(row(r), fast(sample.iloc[[i]]), equal_nan=True)
                            for i, r in enumerate(records[:50]))
    except (KeyError, ValueError, TypeError):
        return None
    if not same:
        return None
    fast.row = row  # type: ignore[attr-defined]  # read by explain.attribution._one_row
    return fast


def _numeric_columns(X: pd.DataFrame, names: list) -> np.ndarray:
    """``X[names]`` as floats, column by column: the same values as ``X[names].to_numpy(float)`` without
    building the sub-frame, which costs more than the attribution for the service's one-row frames."""
    return np.column_stack([X[c].to_numpy(dtype=np.float64) for c in names]) if names else np.empty((len(X), 0))


def _fast_step(trans: Any, cols: list, ct: Any) -> tuple[Callable[[pd.DataFrame], np.ndarray],
                                                          Callable[[Mapping[str, Any]], np.ndarray]] | None:
    """One fitted piece restated: its frame form and its one-account form (plain values by column name)."""
    names = [ct.feature_names_in_[c] if isinstance(c, int | np.integer) else c for c in cols]
    kind = type(trans).__name__ if trans != "passthrough" else "passthrough"
    if kind == "FunctionTransformer" and trans.func is None:
        kind = "passthrough"  # how a fitted ColumnTransformer stores "passthrough"

    def numbers(values: Mapping[str, Any]) -> np.ndarray:
        return np.array([values[c] for c in names], dtype=np.float64)

    if kind == "passthrough":
        return (lambda X: _numeric_columns(X, names)), numbers
    if kind == "StandardScaler":
        mean = trans.mean_ if trans.with_mean else np.zeros(len(names))
        scale = trans.scale_ if trans.with_std else np.ones(len(names))
        return (lambda X: (_numeric_columns(X, names) - mean) / scale), (lambda v: (numbers(v) - mean) / scale)
    if kind in ("OrdinalEncoder", "OneHotEncoder"):
        if getattr(trans, "_infrequent_enabled", False) or getattr(trans, "drop_idx_", None) is not None:
            return None
        if any(any(isinstance(v, float) and np.isnan(v) for v in cats) for cats in trans.categories_):
            return None  # a NaN category has encoder-specific rules; leave it to scikit-learn
        lookups = [{v: i for i, v in enumerate(cats.tolist())} for cats in trans.categories_]
        pairs = list(zip(names, lookups, strict=True))
        if kind == "OrdinalEncoder":
            def ordinal(X: pd.DataFrame) -> np.ndarray:
                return np.column_stack(
                    [np.fromiter((lookup[v] for v in X[c].tolist()), dtype=np.float64, count=len(X))
                     for c, lookup in pairs]
                )

            def ordinal_row(values: Mapping[str, Any]) -> np.ndarray:
                return np.array([lookup[values[c]] for c, lookup in pairs], dtype=np.float64)
            return ordinal, ordinal_row
        if getattr(trans, "sparse_output", False):
            return None  # densified by the reference anyway, but keep the exact sklearn path
        offsets = np.cumsum([0] + [len(cats) for cats in trans.categories_])

        def onehot(X: pd.DataFrame) -> np.ndarray:
            out = np.zeros((len(X), offsets[-1]))
            rows = np.arange(len(X))
            for j, (c, lookup) in enumerate(pairs):
                out[rows, offsets[j] + np.fromiter((lookup[v] for v in X[c].tolist()), dtype=np.int64, count=len(X))] = 1.0
            return out

        def onehot_row(values: Mapping[str, Any]) -> np.ndarray:
            out = np.zeros(offsets[-1])
            for j, (c, lookup) in enumerate(pairs):
                out[offsets[j] + lookup[values[c]]] = 1.0
            return out
        return onehot, onehot_row
    return None
