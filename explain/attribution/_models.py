"""Recognising a scoring model: what it takes as input, how to get its margin, and how to explain it.

Every model is reduced to a :class:`ModelAdapter`: a check of the raw input, a transform to the columns the
estimator sees, a map from those columns back to raw features, the margin function, and the kind of
explainer that is exact (or fastest) for it. Anything unrecognised that can be called on a DataFrame is
explained model-agnostically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from explain._exceptions import FeatureMismatchError, ModelNotSupportedError
from explain.attribution._pipelines import (
    ColumnSpec,
    feature_names_out,
    pipeline_structure,
    verified_fast_transform,
)

__all__ = ["ColumnSpec", "ModelAdapter", "adapt_model", "frame_for_model"]

# Final estimators and what explains them exactly. Names, not imports: optional libraries stay optional.
_TREE_SHAP = {  # shap's C++ TreeSHAP, both meanings
    "sklearn.ensemble._gb.GradientBoostingClassifier",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
}
_HIST_GB = {"sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier"}
_XGB = {"xgboost.sklearn.XGBClassifier"}
_LGBM = {"lightgbm.sklearn.LGBMClassifier"}
_LGBM_BOOSTER = {"lightgbm.basic.Booster"}  # what a LightGBM text model file loads as
_LINEAR = {"sklearn.linear_model._logistic.LogisticRegression"}
# Estimators that route NaN themselves; for the others NaN must be imputed in the pipeline.
_NAN_NATIVE = _HIST_GB | _XGB | _LGBM | {"lightgbm.basic.Booster"}


def _qualname(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


@dataclass
class ModelAdapter:
    """A model reduced to what explaining it needs.

    ``family`` picks the explainer: ``"hist_gb"``, ``"tree"`` (scikit-learn trees and forests),
    ``"xgboost"``, ``"lightgbm"`` (our exact TreeSHAP, with shap or the library's kernel as the fallback
    where the trees cannot be read), ``"linear"`` (LinearSHAP) or ``"agnostic"`` (seeded permutation over
    raw features). ``owners`` maps each model column to its raw feature: the players of the attribution.
    """

    model: Any
    estimator: Any
    family: str
    raw_features: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    transform: Callable[[pd.DataFrame], np.ndarray]
    owners: np.ndarray | None  # model column -> raw feature index; None when explaining raw features directly
    margin_fn: Callable[[np.ndarray], np.ndarray]  # model-space matrix (or raw frame for agnostic) -> margin
    margin_space: str  # "log_odds", "probability" or "raw"
    model_feature_names: tuple[str, ...] = field(default_factory=tuple)
    # Model-space matrix -> the frame a bare estimator with pandas ``category`` columns expects; None otherwise.
    decode: Callable[[np.ndarray], pd.DataFrame] | None = None

    def score_from_margin(self, margin: np.ndarray) -> np.ndarray:
        """The score in the model's natural space (a probability for classifiers)."""
        if self.margin_space == "log_odds":
            return 1.0 / (1.0 + np.exp(-margin))
        return margin

    def estimator_input(self, Xt: np.ndarray) -> Any:
        """Feed the estimator the way it was fitted: named columns if it saw names, so libraries stay quiet."""
        if self.decode is not None:
            return self.decode(Xt)
        names = getattr(self.estimator, "feature_names_in_", None)
        if names is not None and len(names) == Xt.shape[1]:
            return pd.DataFrame(Xt, columns=list(names))
        return Xt

    # -- input validation ---------------------------------------------------------------------------------
    def validate(self, X: Any) -> pd.DataFrame:
        """Return ``X`` as a frame in model column order, or raise naming every offending column."""
        fast = self._validate_fast(X)
        if fast is not None:
            return fast
        if isinstance(X, pd.Series):
            X = X.to_frame().T
        if isinstance(X, np.ndarray):
            if X.ndim != 2 or X.shape[1] != len(self.raw_features):
                raise FeatureMismatchError(
                    "wrong shape", expected=f"a 2-D array with {len(self.raw_features)} columns", got=f"shape {X.shape}"
                )
            X = pd.DataFrame(X, columns=list(self.raw_features))
        if not isinstance(X, pd.DataFrame):
            raise FeatureMismatchError("wrong input type", expected="a pandas DataFrame", got=type(X).__name__)
        if len(X) == 0:
            raise FeatureMismatchError("empty input", expected="at least one row", got="0 rows")
        missing = [c for c in self.raw_features if c not in X.columns]
        if missing:
            raise FeatureMismatchError("missing", missing, expected="every model input column")
        unexpected = [str(c) for c in X.columns if c not in set(self.raw_features)]
        if unexpected:
            raise FeatureMismatchError("unexpected", unexpected, expected=f"only {len(self.raw_features)} model inputs")
        X = X.loc[:, list(self.raw_features)]
        bad_dtype, unknown, nan, infinite = [], {}, [], []
        # Whole-frame NaN mask and dtypes once: this runs on every call, often for one row.
        isna_all = X.isna().to_numpy()
        dtypes = X.dtypes
        for j, spec in enumerate(self.columns):
            isna = isna_all[:, j]
            if not spec.nan_ok and isna.any():
                nan.append(spec.name)
            dtype = dtypes.iloc[j]
            if spec.numeric:
                if (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
                        and not pd.api.types.is_bool_dtype(dtype)):  # true/false is no count or amount
                    if pd.api.types.is_float_dtype(dtype) and np.isinf(X.iloc[:, j].to_numpy(dtype=float)).any():
                        infinite.append(spec.name)
                    continue
                # An object column of plain numbers (parsed JSON) is fine; strings that look like numbers are not.
                present = X.iloc[:, j].to_numpy(dtype=object)[~isna]
                if not (pd.api.types.is_object_dtype(dtype) and all(
                    isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in present
                )):
                    bad_dtype.append(spec.name)
            elif spec.categories is not None:
                seen = set(X.iloc[:, j].to_numpy(dtype=object)[~isna].tolist())
                if not seen <= spec.categories:
                    if not pd.api.types.is_numeric_dtype(dtype):
                        seen = {str(v) for v in seen}
                    extra = sorted(map(str, seen - spec.categories))
                    if extra:
                        unknown[spec.name] = extra
        if bad_dtype:
            raise FeatureMismatchError("wrong dtype", bad_dtype, expected="numbers")
        if unknown:
            first = next(iter(unknown))
            raise FeatureMismatchError(
                "unknown category",
                list(unknown),
                expected=f"one of {sorted(map(str, self._spec(first).categories))} for {first!r}",
                got=", ".join(f"{k}={v}" for k, v in unknown.items()),
            )
        if nan:
            raise FeatureMismatchError("missing value (NaN) the model cannot take", nan, expected="a value")
        if infinite:
            raise FeatureMismatchError("infinite value", infinite, expected="a finite number")
        numeric = [s.name for s in self.columns if s.numeric]
        if numeric and any(X[c].dtype == object for c in numeric):
            X = X.astype({c: float for c in numeric if X[c].dtype == object})
            infinite = [c for c in numeric if pd.api.types.is_float_dtype(X[c]) and np.isinf(X[c].to_numpy()).any()]
            if infinite:
                raise FeatureMismatchError("infinite value", infinite, expected="a finite number")
        return X

    def _validate_fast(self, X: Any) -> pd.DataFrame | None:
        """The common case, checked in a few NumPy operations: a frame with exactly the model's columns in
        order, numeric columns of numeric dtype, known categories. ``None`` sends anything else (including
        every input with a problem) through the full check, which names each offending column.

        One account per request is the service's shape, and there the full per-column pandas checks cost
        more than the attribution itself.
        """
        if type(X) is not pd.DataFrame or not len(X) or tuple(X.columns) != self.raw_features:
            return None
        plan = self.__dict__.get("_fast_plan")
        if plan is None:
            numeric = np.array([s.numeric for s in self.columns], dtype=bool)
            nan_ok = np.array([s.nan_ok for s in self.columns], dtype=bool)
            plan = self.__dict__["_fast_plan"] = (numeric, nan_ok, bool(numeric.all()))
        numeric, nan_ok, all_numeric = plan
        kinds = [dt.kind for dt in X.dtypes]
        if any(k not in "iuf" for k, num in zip(kinds, numeric.tolist(), strict=True) if num):
            return None
        if all_numeric:
            values = X.to_numpy(dtype=np.float64)
            bad = np.isnan(values)
            if bad[:, ~nan_ok].any() or np.isinf(values).any():
                return None
            return X
        if len(X) > 16:  # batches: the column-wise check below is per value; the full check is vectorised
            return None
        rows = X.to_numpy(dtype=object)
        for j, spec in enumerate(self.columns):
            for v in rows[:, j].tolist():
                if v is None or v is pd.NA or v is pd.NaT or v != v:  # missing
                    if not spec.nan_ok:
                        return None
                elif spec.numeric:
                    if isinstance(v, bool) or not np.isfinite(v):
                        return None
                elif spec.categories is not None and v not in spec.categories:
                    return None
        return X

    def _spec(self, name: str) -> ColumnSpec:
        return next(s for s in self.columns if s.name == name)


def frame_for_model(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` read from a file (text, not types), typed as ``model`` takes it.

    An XGBoost model with categorical inputs needs them as pandas categories with its training categories in
    their order (XGBoost 3 keeps them in the model; older files: sorted, as ``astype("category")`` makes them).
    Other models take the frame as it is.
    """
    if not hasattr(model, "get_booster"):
        return frame
    booster = model.get_booster()
    types = booster.feature_types or []
    names = booster.feature_names or [str(c) for c in frame.columns]
    wanted = [c for c, t in zip(names, types, strict=False) if t == "c" and c in frame.columns
              and not isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not wanted:
        return frame
    known: dict[str, list] = {}
    try:
        for name, array in booster.get_categories(export_to_arrow=True).to_arrow():
            if array is not None:
                known[name] = array.to_pylist()
    except Exception:  # noqa: BLE001 - an older XGBoost or no pyarrow: the sorted categories of the data
        known = {}
    return frame.astype({c: pd.CategoricalDtype(known[c]) if c in known else "category" for c in wanted})


# ------------------------------------------------------------------------------------------- recognition
def adapt_model(model: Any, *, background: pd.DataFrame | None = None, link: str = "identity") -> ModelAdapter:
    """Recognise ``model`` (estimator, Pipeline, or callable) and build its adapter."""
    # scikit-learn is imported only for its own models: an XGBoost or LightGBM file needs none of it.
    if any(c.__module__ == "sklearn.pipeline" and c.__name__ == "Pipeline" for c in type(model).__mro__):
        estimator = model.steps[-1][1]
        prefix = model[:-1] if len(model.steps) > 1 else None
    elif hasattr(model, "fit") and (hasattr(model, "predict_proba") or hasattr(model, "decision_function")):
        estimator, prefix = model, None
    elif _qualname(model) in _LGBM_BOOSTER:
        estimator, prefix = model, None
    elif callable(model):
        return _adapt_callable(model, background, link)
    else:
        raise ModelNotSupportedError(model, "expected a fitted classifier, a Pipeline or a callable f(DataFrame) -> scores")

    name = _qualname(estimator)
    family = (
        "hist_gb" if name in _HIST_GB else
        "tree" if name in _TREE_SHAP else
        "xgboost" if name in _XGB else
        "lightgbm" if name in _LGBM | _LGBM_BOOSTER else
        "linear" if name in _LINEAR else
        "agnostic"
    )
    raw = getattr(model, "feature_names_in_", None)
    if raw is None and name in _LGBM_BOOSTER:
        raw = model.feature_name()
    if raw is None:
        n = getattr(model, "n_features_in_", None)
        if n is None:
            raise ModelNotSupportedError(model, "it is not fitted (no n_features_in_)")
        raw = [f"x{i}" for i in range(n)]
    raw = tuple(str(c) for c in raw)

    decode = None
    if prefix is not None:
        owners, columns = pipeline_structure(prefix, raw, nan_native=name in _NAN_NATIVE)

        def sklearn_transform(X: pd.DataFrame) -> np.ndarray:
            out = prefix.transform(X)
            out = out.toarray() if hasattr(out, "toarray") else np.asarray(out)
            return np.asarray(out, dtype=np.float64)

        transform = verified_fast_transform(prefix, background, sklearn_transform) or sklearn_transform

        model_names = tuple(str(c) for c in feature_names_out(prefix, len(owners)))
    else:
        owners = np.arange(len(raw))
        levels = _categorical_levels(estimator, name, raw, background)
        columns = tuple(
            ColumnSpec(c, numeric=False, categories=frozenset(levels[j]), nan_ok=True) if j in levels
            else ColumnSpec(c, numeric=True, nan_ok=name in _NAN_NATIVE)
            for j, c in enumerate(raw)
        )
        transform, decode = _category_codec(raw, levels)
        model_names = raw

    classes = getattr(estimator, "classes_", None)
    if classes is not None and len(classes) != 2:
        raise ModelNotSupportedError(model, f"only binary classifiers are supported, this one has {len(classes)} classes")

    adapter = ModelAdapter(
        model=model,
        estimator=estimator,
        family=family,
        raw_features=raw,
        columns=columns,
        transform=transform,
        owners=owners,
        margin_fn=lambda Xt: Xt,  # replaced below, once the adapter can shape estimator input
        margin_space="log_odds",
        model_feature_names=model_names,
        decode=decode if prefix is None else None,
    )
    adapter.margin_fn, adapter.margin_space = _margin_function(adapter, name)
    if family == "agnostic":
        # Model-agnostic attribution works on raw features: permuting one-hot columns separately would
        # create rows no customer could have.
        full = adapter.margin_fn

        def raw_margin(X: pd.DataFrame) -> np.ndarray:
            return full(transform(X))

        adapter.owners = None
        adapter.raw_margin = raw_margin  # type: ignore[attr-defined]
    return adapter


def _categorical_levels(estimator: Any, name: str, raw: tuple[str, ...], background: Any) -> dict[int, list]:
    """Known categories of each text-categorical input of a bare estimator (pandas ``category`` columns).

    The position of a value in its list is the code the model's trees split on:
    HistGradientBoosting (``categorical_features="from_dtype"``) keeps them in its internal encoder,
    LightGBM in ``pandas_categorical``, and XGBoost (``enable_categorical``) re-codes by the categories
    it was trained with, which must then be the categories of the background's ``category`` columns.
    """
    levels: dict[int, list] = {}
    if name in _HIST_GB:
        pre = getattr(estimator, "_preprocessor", None)
        if pre is None:
            return levels
        for tname, _, cols in pre.transformers_:
            if tname != "encoder":
                continue
            encoder = pre.named_transformers_["encoder"]
            for j, cats in zip(np.arange(len(raw))[np.asarray(cols)], encoder.categories_, strict=True):
                known = [c for c in cats.tolist() if not (c is None or (isinstance(c, float) and np.isnan(c)))]
                if not all(isinstance(c, int | float | np.number) for c in known):
                    levels[int(j)] = known
    elif name in _LGBM | _LGBM_BOOSTER:
        booster = getattr(estimator, "booster_", estimator)
        pandas_categorical = getattr(booster, "pandas_categorical", None)
        if pandas_categorical:
            infos = booster.dump_model(num_iteration=0)["feature_infos"]
            cat_cols = [j for j, c in enumerate(raw) if infos.get(c, {}).get("values")]
            if len(cat_cols) != len(pandas_categorical):
                raise ModelNotSupportedError(estimator, "its categorical features cannot be matched to its inputs")
            levels = {j: list(cats) for j, cats in zip(cat_cols, pandas_categorical, strict=True)}
    elif name in _XGB:
        types = estimator.get_booster().feature_types or []
        cat_cols = [j for j, t in enumerate(types) if t == "c"]
        if cat_cols:
            if not isinstance(background, pd.DataFrame) or not all(
                isinstance(background[raw[j]].dtype, pd.CategoricalDtype) for j in cat_cols
            ):
                raise ModelNotSupportedError(
                    estimator,
                    "an XGBoost model with categorical features needs a background DataFrame whose columns "
                    f"{[raw[j] for j in cat_cols]} are pandas 'category' columns with the training categories",
                )
            levels = {j: list(background[raw[j]].cat.categories) for j in cat_cols}
    for j, known in levels.items():
        if len(known) > 256:
            raise ModelNotSupportedError(estimator, f"column {raw[j]!r} has more than 256 categories")
    return levels


def _category_codec(
    raw: tuple[str, ...], levels: dict[int, list]
) -> tuple[Callable[[pd.DataFrame], np.ndarray], Callable[[np.ndarray], pd.DataFrame] | None]:
    """Encode a raw frame into the model-space matrix (categories as codes, unknown or missing as NaN),
    and decode such a matrix back into the frame the estimator itself takes."""
    if not levels:
        return (lambda X: X.to_numpy(dtype=np.float64)), None
    books = {j: pd.Index(known, dtype=object) for j, known in levels.items()}
    dtypes = {j: pd.CategoricalDtype(known) for j, known in levels.items()}

    def encode(X: pd.DataFrame) -> np.ndarray:
        out = np.empty(X.shape, dtype=np.float64)
        for j in range(len(raw)):
            col = X.iloc[:, j]
            if j in books:
                codes = books[j].get_indexer(col.to_numpy(dtype=object)).astype(np.float64)
                codes[codes < 0] = np.nan
                out[:, j] = codes
            else:
                out[:, j] = col.to_numpy(dtype=np.float64)
        return out

    def decode(Xt: np.ndarray) -> pd.DataFrame:
        frame = pd.DataFrame(Xt, columns=list(raw))
        for j, dtype in dtypes.items():
            codes = np.where(np.isnan(Xt[:, j]), -1, Xt[:, j]).astype(np.int64)
            frame[raw[j]] = pd.Categorical.from_codes(codes, dtype=dtype)
        return frame

    return encode, decode


def _margin_function(adapter: ModelAdapter, name: str) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    est = adapter.estimator
    if name in _XGB:
        def xgb_margin(Xt: np.ndarray) -> np.ndarray:
            return np.asarray(est.predict(adapter.estimator_input(Xt), output_margin=True), dtype=np.float64)
        return xgb_margin, "log_odds"
    if name in _LGBM | _LGBM_BOOSTER:
        def lgbm_margin(Xt: np.ndarray) -> np.ndarray:
            return np.asarray(est.predict(adapter.estimator_input(Xt), raw_score=True), dtype=np.float64)
        return lgbm_margin, "log_odds"
    if name in {"sklearn.ensemble._forest.RandomForestClassifier", "sklearn.ensemble._forest.ExtraTreesClassifier",
                "sklearn.tree._classes.DecisionTreeClassifier"}:
        # Forests average class probabilities; TreeSHAP explains that probability, so it is the margin too.
        def proba(Xt: np.ndarray) -> np.ndarray:
            return np.asarray(est.predict_proba(adapter.estimator_input(Xt))[:, 1], dtype=np.float64)
        return proba, "probability"
    if hasattr(est, "decision_function"):
        def decision(Xt: np.ndarray) -> np.ndarray:
            return np.asarray(est.decision_function(adapter.estimator_input(Xt)), dtype=np.float64).reshape(-1)
        return decision, "log_odds"
    if hasattr(est, "predict_proba"):
        def logit(Xt: np.ndarray) -> np.ndarray:
            p = np.clip(est.predict_proba(adapter.estimator_input(Xt))[:, 1], 1e-15, 1 - 1e-15)
            return np.log(p) - np.log1p(-p)
        return logit, "log_odds"
    raise ModelNotSupportedError(est, "it has neither decision_function nor predict_proba")


def _adapt_callable(f: Callable, background: pd.DataFrame | None, link: str) -> ModelAdapter:
    if background is None or not isinstance(background, pd.DataFrame) or background.empty:
        raise ModelNotSupportedError(
            f, "a plain callable needs a background DataFrame (its columns and dtypes define the input)"
        )
    if link not in ("identity", "logit"):
        raise ValueError(f"The 'link' must be one of 'identity', 'logit'. Got {link!r} instead.")
    raw = tuple(str(c) for c in background.columns)
    columns = tuple(
        ColumnSpec(
            c,
            numeric=pd.api.types.is_numeric_dtype(background[c]) and not pd.api.types.is_bool_dtype(background[c]),
            nan_ok=bool(background[c].isna().any()),
        )
        for c in raw
    )
    dtypes = background.dtypes

    def raw_margin(X: pd.DataFrame) -> np.ndarray:
        scores = np.asarray(f(X.astype(dtypes)), dtype=np.float64).reshape(-1)
        if scores.shape[0] != len(X):
            raise ModelNotSupportedError(f, f"it returned {scores.shape[0]} scores for {len(X)} rows")
        if link == "logit":
            p = np.clip(scores, 1e-15, 1 - 1e-15)
            return np.log(p) - np.log1p(-p)
        return scores

    adapter = ModelAdapter(
        model=f,
        estimator=f,
        family="agnostic",
        raw_features=raw,
        columns=columns,
        transform=lambda X: X,  # type: ignore[arg-type,return-value]
        owners=None,
        margin_fn=raw_margin,  # type: ignore[arg-type]
        margin_space="log_odds" if link == "logit" else "raw",
        model_feature_names=raw,
    )
    adapter.raw_margin = raw_margin  # type: ignore[attr-defined]
    return adapter
