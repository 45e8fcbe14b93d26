"""SHAP attribution in the model's margin space, summed back to raw features and reason groups.

The explainer picks the fastest exact method for the model it recognises and records it on every result:

=============================  ==========================================  ========================
model                          interventional (background given)           path-dependent
=============================  ==========================================  ========================
HistGradientBoosting, sklearn  our exact TreeSHAP: per-leaf tables,        our exact TreeSHAP
GB / forests, XGBoost,         raw features as players, categorical
LightGBM                       splits read natively
trees we cannot read           shap TreeExplainer                          the library's own kernel
LogisticRegression             shap LinearExplainer (Independent masker)   -
anything else, callables       shap PermutationExplainer, seeded           -
=============================  ==========================================  ========================

Every call checks additivity (base value + contributions == margin) and refuses to return a result that
fails it: an explanation that does not add up is a wrong explanation.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from explain.catalog._catalog import FeatureCatalog
from explain.attribution._data_checks import check_missingness, missing_rates
from explain.catalog._input_checks import InputChecks, input_rules
from explain._exceptions import AdditivityError, ModelNotSupportedError
from explain.attribution._choosing import ReasonChoosing, _plain_key
from explain.attribution._models import ModelAdapter, adapt_model
from explain.reasons._reasons import DirectionRules

__all__ = ["Attribution", "Explainer", "TREE_MODES"]

TREE_MODES = ("interventional", "path_dependent")
_EXACT_TOLERANCE = 1e-6
# XGBoost predicts and attributes in float32, accumulating one rounding per tree; a check tighter than the
# model's own precision would fail on sound results. Its tolerance therefore scales with the summed terms
# and the square root of the tree count (the random-walk growth of rounding), and is recorded on the result.
_FLOAT32_EPS = float(np.finfo(np.float32).eps)
# shap's PermutationExplainer seeds NumPy's global RNG; we run it under this lock and restore the caller's
# global state afterwards, so nothing outside sees a seeded global RNG.
_GLOBAL_RNG_LOCK = threading.Lock()


@dataclass(frozen=True)
class Attribution:
    """Contributions of each raw feature to each row's margin.

    ``values`` has one column per raw feature, in margin space (log-odds for classifiers);
    ``base_values + values.sum(axis=1) == margins`` to ``tolerance`` on every row.
    """

    values: pd.DataFrame
    base_values: np.ndarray
    margins: np.ndarray
    scores: np.ndarray
    method: str
    engine: str
    mode: str | None
    margin_space: str
    higher_is: str
    tolerance: float
    max_additivity_error: float
    background_rows: int | None
    catalog: FeatureCatalog | None = field(default=None, repr=False, compare=False)
    # "raw_features": each raw input is one player (its encoded columns switch together);
    # "encoded_columns_summed": per-column values summed (recorded where only a fallback engine could run).
    players: str = "raw_features"

    def by_group(self) -> pd.DataFrame:
        """Contributions summed into reason groups (one column per group, catalog order); sums keep additivity."""
        if self.catalog is None:
            return self.values.copy()
        # Member columns added left to right, row by row: unlike a matrix product (whose blocking depends on
        # the number of rows), each row's sums are the same bits however many rows were explained with it,
        # so a decision replayed alone reproduces a batch-issued record exactly.
        return pd.DataFrame(group_sums(self.values.to_numpy(), self.values.columns, self.catalog),
                            index=self.values.index)

    def to_dict(self) -> dict[str, Any]:
        """Row-wise JSON-ready form: one entry per row with its contributions by feature."""
        return {
            "method": self.method,
            "engine": self.engine,
            "mode": self.mode,
            "margin_space": self.margin_space,
            "higher_is": self.higher_is,
            "rows": [
                {
                    "row": _plain_key(idx),
                    "base_value": float(self.base_values[i]),
                    "margin": float(self.margins[i]),
                    "score": float(self.scores[i]),
                    "contributions": {k: float(v) for k, v in self.values.iloc[i].items()},
                }
                for i, idx in enumerate(self.values.index)
            ],
        }


def group_sums(values: np.ndarray, columns: Any, catalog: FeatureCatalog) -> dict[str, np.ndarray]:
    """Per reason group (catalog order), its member features' contributions added left to right, row by row."""
    position = {name: j for j, name in enumerate(columns)}
    sums = {}
    for code, group in catalog.groups.items():
        total = np.zeros(len(values))
        for feature in group.features:
            if feature in position:
                total = total + values[:, position[feature]]
        sums[code] = total
    return sums


class Explainer(ReasonChoosing):
    """Explain any scoring model and select the principal reasons behind a limit decision.

    Parameters
    ----------
    model
        A fitted binary classifier (scikit-learn, XGBoost, LightGBM), a scikit-learn ``Pipeline`` ending in
        one, or a callable ``f(DataFrame) -> scores``.
    catalog
        The :class:`FeatureCatalog` grouping raw features into reason groups; required for :meth:`reasons`.
    background
        The reference population ("accounts in good standing"). Required for linear models and callables;
        for tree ensembles it selects the interventional meaning.
    random_state
        Seed for everything random here (background subsampling, permutation order). Never global.
    higher_is
        ``"risk"`` when a higher score means more likely to default, ``"better"`` for a credit score.
    tree_mode
        ``"interventional"`` (default when a background is given) or ``"path_dependent"``.
    max_background
        Subsample the background to this many rows (seeded, recorded). ``None`` uses all of it.
    link
        For a callable only: ``"logit"`` when it returns probabilities, so attribution runs in log-odds.

    Examples
    --------
    >>> explainer = Explainer(pipeline, catalog=catalog, background=good_accounts)  # doctest: +SKIP
    >>> explainer.reasons(accounts, decision="limit_decrease")[0].codes  # doctest: +SKIP
    ('current_account', 'loan_term', 'repayment_history')
    """

    def __init__(
        self,
        model: Any,
        *,
        catalog: FeatureCatalog | None = None,
        background: pd.DataFrame | None = None,
        random_state: int | None = None,
        higher_is: str = "risk",
        tree_mode: str | None = None,
        max_background: int | None = None,
        link: str = "identity",
        n_permutations: int = 10,
    ) -> None:
        if higher_is not in ("risk", "better"):
            raise ValueError(f"The 'higher_is' must be one of 'risk', 'better'. Got {higher_is!r} instead.")
        if tree_mode is not None and tree_mode not in TREE_MODES:
            raise ValueError(f"The 'tree_mode' must be one of {', '.join(map(repr, TREE_MODES))}. Got {tree_mode!r} instead.")
        self.model = model
        self.catalog = catalog
        self.higher_is = higher_is
        self.random_state = random_state
        self._adapter: ModelAdapter = adapt_model(model, background=background, link=link)
        self.feature_names = self._adapter.raw_features
        self._columns = pd.Index(list(self.feature_names), dtype=object)  # built once: one-row calls are common
        if catalog is not None:
            catalog.check_features(self.feature_names)

        self.background: pd.DataFrame | None = None
        self.background_subsampled = False
        if background is not None:
            bg = self._adapter.validate(background)
            if max_background is not None and len(bg) > max_background:
                rng = np.random.default_rng(random_state)
                keep = np.sort(rng.choice(len(bg), size=max_background, replace=False))
                bg = bg.iloc[keep]
                self.background_subsampled = True
            self.background = bg

        family = self._adapter.family
        is_tree = family in ("hist_gb", "tree", "xgboost", "lightgbm")
        if not is_tree and tree_mode is not None:
            raise ValueError(f"'tree_mode' applies to tree ensembles only; this model is explained as {family!r}.")
        if is_tree:
            self.mode: str | None = tree_mode or ("interventional" if self.background is not None else "path_dependent")
            if self.mode == "interventional" and self.background is None:
                raise ValueError("tree_mode='interventional' needs a 'background' sample to compare against.")
        else:
            self.mode = None
            if self.background is None:
                raise ValueError(f"A 'background' sample is required to explain a model of kind {family!r}.")
        self.n_permutations = n_permutations
        self._build_engine()
        self._percentiles = self._background_stats()
        self._directions = DirectionRules.from_catalog(self.catalog, self.background)
        self._missing_rates = missing_rates(self.background)
        specs = self._adapter.columns
        self._input_checks = InputChecks(
            {} if catalog is None else input_rules(catalog, {s.name: s.nan_ok for s in specs}),
            self.feature_names, {s.name: s.numeric for s in specs})

    # -- engines ------------------------------------------------------------------------------------------
    def _build_engine(self) -> None:
        # shap is imported only where its kernels stand in (a second of start-up otherwise, for nothing).
        a, family, mode = self._adapter, self._adapter.family, self.mode
        self._bg_model = a.transform(self.background) if self.background is not None and family != "agnostic" else None
        self._float32_rtol = 0.0
        if family == "xgboost":
            trees = a.estimator.get_booster().num_boosted_rounds()
            self._float32_rtol = 4 * _FLOAT32_EPS * max(1.0, float(np.sqrt(trees)))
        self._ensemble = None
        self._prepared = None
        if family in ("hist_gb", "tree", "xgboost", "lightgbm"):
            from explain.attribution._treeshap import TreeEnsemble, prepare

            build = {"hist_gb": TreeEnsemble.from_hist_gradient_boosting, "tree": TreeEnsemble.from_sklearn_trees,
                     "xgboost": TreeEnsemble.from_xgboost, "lightgbm": TreeEnsemble.from_lightgbm}[family]
            try:
                ensemble = build(a.estimator)
                # Everything that depends only on the model (and background) is computed here, once:
                # per-leaf Shapley tables, with each raw feature one player however it was encoded.
                prepared = prepare(ensemble, background=self._bg_model if mode == "interventional" else None,
                                   owners=a.owners, n_players=len(a.raw_features))
            except (NotImplementedError, TypeError):
                if family == "hist_gb":
                    raise
            else:
                if self._flattening_is_faithful(ensemble):
                    self._ensemble, self._prepared = ensemble, prepared
                elif family == "hist_gb":  # shap mis-reads these models: no fallback to offer
                    raise ModelNotSupportedError(a.estimator, "its trees could not be read faithfully")
        self.method = {"linear": "linear_shap", "agnostic": "permutation"}.get(family, "tree_shap")
        one_player_per_column = a.owners is None or len(set(np.asarray(a.owners).tolist())) == len(a.owners)
        # What the contributions are the Shapley values of: raw features (one player however encoded), or,
        # only where shap's tree kernel had to stand in on a multi-column encoding, sums over encoded columns.
        self.players = ("raw_features" if self._ensemble is not None or family in ("linear", "agnostic")
                        or one_player_per_column else "encoded_columns_summed")
        if self._ensemble is not None:
            # Our exact kernels: per-leaf tables, parallel over rows, categorical splits read natively.
            self.engine = "numba"
        elif family in ("xgboost", "lightgbm") and mode == "path_dependent":
            self.engine = family  # the library's own contribution kernel
        elif family in ("tree", "xgboost", "lightgbm"):
            import shap

            try:
                with warnings.catch_warnings():
                    # Large backgrounds are a deliberate choice here (the caller's reference population).
                    warnings.filterwarnings("ignore", message=".*background samples may lead to slow runtimes")
                    self._shap = shap.TreeExplainer(
                        a.estimator,
                        data=self._bg_model if mode == "interventional" else None,
                        feature_perturbation="interventional" if mode == "interventional" else "tree_path_dependent",
                        model_output="raw",
                    )
            except (NotImplementedError, TypeError, ValueError) as exc:  # shap's own refusal, in our words
                raise ModelNotSupportedError(
                    a.estimator, f"neither our tree reader nor shap's can explain it in the {mode} meaning ({exc})"
                ) from exc
            self.engine = "shap"
        elif family == "linear":
            import shap

            masker = shap.maskers.Independent(self._bg_model, max_samples=len(self._bg_model))
            self._shap = shap.LinearExplainer(a.estimator, masker)
            self.engine = "shap"
        else:
            self.engine = "shap"

    def _flattening_is_faithful(self, ensemble: Any) -> bool:
        """Prove, once, that the flattened trees give the model's own margins.

        Checked on the background and on seeded probe rows that visit both sides of every split value
        (and the categories and missing values the model knows). Each call then checks additivity
        against the flattened trees' margin, which this proof ties to the model's real output at a
        fraction of the cost of asking the model again for every account.
        """
        from explain.attribution._treeshap import predict_margin

        probes = _probe_rows(ensemble, self._bg_model, self._adapter)
        try:
            real = np.asarray(self._adapter.margin_fn(probes), dtype=np.float64)
        except (ValueError, TypeError):  # the model refuses a probe (e.g. NaN it never saw): no proof
            return False
        ours = predict_margin(ensemble, probes)
        tolerance = _EXACT_TOLERANCE + self._float32_rtol * (np.abs(real) + 1.0)
        return bool(np.all(np.abs(ours - real) <= tolerance))

    def _attribute_prepared(self, Xt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw-feature contributions, base value per row and margin per row, from our prepared kernels."""
        from explain.attribution._treeshap import explain_prepared

        phi, base, margin = explain_prepared(self._prepared, Xt)
        return phi, np.full(len(margin), base), margin

    def _attribute_model_space(self, Xt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Contributions per model column and the base value per row."""
        family, n = self._adapter.family, Xt.shape[0]
        if self.engine in ("xgboost", "lightgbm"):
            est = self._adapter.estimator
            if family == "xgboost":
                import xgboost

                booster = est.get_booster()
                contribs = booster.predict(xgboost.DMatrix(Xt, feature_names=booster.feature_names), pred_contribs=True)
            else:
                contribs = est.predict(self._adapter.estimator_input(Xt), pred_contrib=True)
            contribs = np.asarray(contribs, dtype=np.float64)
            return contribs[:, :-1], contribs[:, -1]
        if family == "linear":
            phi = np.asarray(self._shap.shap_values(Xt), dtype=np.float64)
            base = float(np.ravel(self._shap.expected_value)[0])
            return phi, np.full(n, base)
        phi = self._shap.shap_values(Xt, check_additivity=False)
        base = np.ravel(self._shap.expected_value)
        if isinstance(phi, list):  # older multi-output form
            phi = phi[-1]
        phi = np.asarray(phi, dtype=np.float64)
        if phi.ndim == 3:  # (rows, features, classes): explain the positive class
            phi, base = phi[:, :, -1], base[-1:]
        return phi, np.full(n, float(base[-1]))

    def _attribute_agnostic(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        import shap

        columns, dtypes = list(X.columns), self.background.dtypes
        raw_margin = self._adapter.raw_margin  # type: ignore[attr-defined]
        # shap's maskers work on numeric matrices: code each text column as integers, decode inside f.
        codebooks = {
            j: pd.Index(pd.unique(pd.concat([self.background[c], X[c]], ignore_index=True)))
            for j, c in enumerate(columns)
            if not pd.api.types.is_numeric_dtype(self.background[c])
        }

        def encode(frame: pd.DataFrame) -> np.ndarray:
            out = np.empty(frame.shape, dtype=np.float64)
            for j, c in enumerate(columns):
                out[:, j] = codebooks[j].get_indexer(frame[c]) if j in codebooks else frame[c].to_numpy(dtype=np.float64)
            return out

        def f(arr: np.ndarray) -> np.ndarray:
            frame = pd.DataFrame(arr, columns=columns)
            for j, book in codebooks.items():
                frame[columns[j]] = book.take(arr[:, j].astype(np.int64))
            return raw_margin(frame.astype(dtypes))

        bg = encode(self.background)
        masker = shap.maskers.Independent(bg, max_samples=len(bg))
        m = len(columns)
        with _GLOBAL_RNG_LOCK:
            saved = np.random.get_state()
            try:
                seed = 0 if self.random_state is None else self.random_state
                explainer = shap.PermutationExplainer(f, masker, seed=seed)
                result = explainer(encode(X), max_evals=(2 * m + 1) * self.n_permutations, silent=True)
            finally:
                np.random.set_state(saved)
        return np.asarray(result.values, dtype=np.float64), np.asarray(result.base_values, dtype=np.float64).reshape(-1)

    # -- public API ---------------------------------------------------------------------------------------
    def explain(self, X: pd.DataFrame) -> Attribution:
        """Attribute each row's margin to the raw features; additivity is checked before returning."""
        return self._explain_valid(self._checked(X))

    def _checked(self, X: pd.DataFrame) -> pd.DataFrame:
        """The model's own input checks, then missing values judged against the background's."""
        X = self._adapter.validate(X)
        check_missingness(X, self._missing_rates)
        return X

    def _explain_valid(self, X: pd.DataFrame) -> Attribution:
        a = self._adapter
        if a.family == "agnostic":
            phi_raw, base = self._attribute_agnostic(X)
            margin = a.raw_margin(X)  # type: ignore[attr-defined]
            scale = np.abs(phi_raw).sum(axis=1) + np.abs(base)
        elif self._prepared is not None:
            # Players are the raw features already; the margin is the flattened trees' own, proven equal
            # to the model's at build (see _flattening_is_faithful).
            phi_raw, base, margin = self._attribute_prepared(a.transform(X))
            scale = np.abs(phi_raw).sum(axis=1) + np.abs(base)
        else:
            Xt = a.transform(X)
            phi, base = self._attribute_model_space(Xt)
            margin = a.margin_fn(Xt)
            scale = np.abs(phi).sum(axis=1) + np.abs(base)
            # Encoded columns summed back to the raw column they came from. Exact raw-feature Shapley values
            # for linear models; for a shap fallback on a multi-column encoding it is the per-column sum.
            phi_raw = np.zeros((phi.shape[0], len(a.raw_features)))
            np.add.at(phi_raw.T, a.owners, phi.T)
        tolerance = _EXACT_TOLERANCE + self._float32_rtol * scale
        error = np.abs(base + phi_raw.sum(axis=1) - margin)
        failing = np.flatnonzero(error > tolerance)
        if failing.size:
            raise AdditivityError(
                method=self.method, max_error=float(error.max()), tolerance=float(np.max(tolerance)),
                rows=[_plain_key(X.index[i]) for i in failing],
            )
        return Attribution(
            values=pd.DataFrame(phi_raw, index=X.index, columns=self._columns),
            base_values=base,
            margins=margin,
            scores=a.score_from_margin(margin),
            method=self.method,
            engine=self.engine,
            mode=self.mode,
            margin_space=a.margin_space,
            higher_is=self.higher_is,
            tolerance=float(np.max(tolerance)),
            max_additivity_error=float(error.max()) if error.size else 0.0,
            background_rows=None if self.background is None else len(self.background),
            catalog=self.catalog,
            players=self.players,
        )

    def _background_stats(self) -> dict[str, Any]:
        if self.background is None or self.catalog is None:
            return {}
        stats: dict[str, Any] = {}
        for feature in self.catalog.feature_names:
            if feature not in self.background:
                continue
            column = self.background[feature].dropna()
            if pd.api.types.is_numeric_dtype(column):
                stats[feature] = np.sort(column.to_numpy(dtype=float))
            else:
                stats[feature] = column.astype(str).value_counts(normalize=True).to_dict()
        return stats

    def __repr__(self) -> str:
        return (
            f"Explainer(model={type(self.model).__name__}, method={self.method!r}, engine={self.engine!r}, mode={self.mode!r}, "
            f"higher_is={self.higher_is!r}, background_rows={None if self.background is None else len(self.background)})"
        )



def _probe_rows(ensemble: Any, background: np.ndarray | None, adapter: ModelAdapter, n: int = 256) -> np.ndarray:
    """Model-space rows that exercise the flattened trees: the background, its columns recombined, and per
    numeric column the split values themselves and the next number above each (seeded, so deterministic)."""
    rng = np.random.default_rng(0)
    parts = []
    if background is not None and len(background):
        parts.append(background)
        parts.append(np.column_stack([rng.choice(background[:, j], size=n) for j in range(background.shape[1])]))
    X = np.zeros((n, ensemble.n_features)) if not parts else parts[-1].copy()
    categorical = {j for j in range(ensemble.n_features) if np.any(ensemble.is_categorical[ensemble.feature == j])}
    if adapter.decode is not None:
        categorical |= {j for j, s in enumerate(adapter.columns) if not s.numeric}
    # NaN probes only where model columns are raw columns that may be missing (a bare estimator).
    one_to_one = len(adapter.columns) == ensemble.n_features
    nan_ok = [s.nan_ok for s in adapter.columns] if one_to_one else [False] * ensemble.n_features
    for j in range(ensemble.n_features):
        if j in categorical:
            if background is None:  # known categories (raw values or codes), else the codes the splits list
                cats = ensemble.input_categories[j] if ensemble.input_categories else None
                if cats is None and adapter.decode is not None and not adapter.columns[j].numeric:
                    cats = np.arange(len(adapter.columns[j].categories))
                if cats is None:
                    rows = ensemble.bitset_idx[(ensemble.feature == j) & ensemble.is_categorical]
                    bits = np.unpackbits(ensemble.bitsets[rows].view(np.uint8), bitorder="little").reshape(len(rows), -1)
                    cats = np.flatnonzero(bits.any(axis=0)) if len(rows) else np.arange(1)
                X[:, j] = rng.choice(np.asarray(cats, dtype=np.float64), size=n)
        else:
            split_values = ensemble.threshold[(ensemble.feature == j) & ~ensemble.is_categorical]
            split_values = split_values[np.isfinite(split_values)]
            if split_values.size:
                pick = rng.choice(split_values, size=n)
                X[:, j] = np.where(rng.random(n) < 0.5, pick, np.nextafter(pick, np.inf))
        if nan_ok[j]:
            X[rng.random(n) < 0.05, j] = np.nan
    parts.append(X)
    return np.vstack(parts)
