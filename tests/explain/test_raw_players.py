"""Raw features are the players: exactness against brute-force Shapley games over raw input columns.

A customer's reason is "your purpose of loan", not "the third one-hot column of it", so the game's
players are the raw inputs and all encoded columns of one input switch together. The references here:

* interventional: ``v(S) = mean_z f(x_S, z_notS)`` with the hybrids built as raw DataFrames and scored
  by the fitted model itself (``decision_function``, ``predict_proba`` or XGBoost's margin);
* path-dependent: the cover-weighted expectation ``E[f | x_S]`` evaluated by a plain recursive walk of
  the trees (known players follow the account, unknown ones split by cover), all 2**n coalitions at once.

Shapley values are then the weighted sums over all coalitions. Trees are depth 6, where summing
per-column values is known to drift from the raw-feature game.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from explain import Explainer, ModelNotSupportedError
from explain.attribution._treeshap import _prepare_inputs

xgboost = pytest.importorskip("xgboost")
lightgbm = pytest.importorskip("lightgbm")

CATS = {"purpose": ["car", "education", "furniture", "repairs", "business"], "housing": ["own", "rent", "free"]}
NUMERIC = ["amount", "duration", "age", "income", "savings"]


def _portfolio(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({c: rng.choice(levels, size=n) for c, levels in CATS.items()})
    for c in NUMERIC:
        X[c] = np.round(rng.normal(size=n), 2)
    logit = (X.amount + (X.purpose == "education") * 1.5 - (X.purpose == "car") * X.duration
             + (X.housing == "rent") * X.age - 0.5 * X.income * (X.purpose == "repairs") + rng.normal(size=n) * 0.5)
    return X, (logit > 0).astype(int).to_numpy()


def _onehot(estimator) -> Pipeline:
    encode = ColumnTransformer(
        [("onehot", OneHotEncoder(sparse_output=False), list(CATS)), ("keep", "passthrough", NUMERIC)],
        verbose_feature_names_out=False,
    )
    return Pipeline([("encode", encode), ("model", estimator)])


MODELS = {
    "hist_gb": lambda: _onehot(HistGradientBoostingClassifier(max_iter=15, max_depth=6, early_stopping=False,
                                                              random_state=0)),
    "gradient_boosting": lambda: _onehot(GradientBoostingClassifier(n_estimators=15, max_depth=6, random_state=0)),
    "random_forest": lambda: _onehot(RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0)),
    "xgboost": lambda: _onehot(xgboost.XGBClassifier(n_estimators=15, max_depth=6, n_jobs=1, random_state=0)),
}


def _model_margin(model, frame: pd.DataFrame) -> np.ndarray:
    """The fitted model's own margin on raw rows: never our flattening or our transform."""
    estimator = model[-1] if isinstance(model, Pipeline) else model
    if isinstance(estimator, RandomForestClassifier):
        return model.predict_proba(frame)[:, 1]
    if isinstance(estimator, xgboost.XGBClassifier):
        inputs = model[:-1].transform(frame) if isinstance(model, Pipeline) else frame
        return model[-1].predict(inputs, output_margin=True).astype(np.float64) if isinstance(model, Pipeline) \
            else model.predict(inputs, output_margin=True).astype(np.float64)
    if isinstance(estimator, lightgbm.LGBMClassifier):
        return model.predict(frame, raw_score=True)
    return model.decision_function(frame)


def _coalitions(n: int) -> np.ndarray:
    """(2**n, n) booleans: row k is the coalition whose bitmask is k."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)


def _shapley(v: np.ndarray, n: int) -> np.ndarray:
    """Shapley values of one game given as ``v[mask]`` over all 2**n coalitions."""
    members = _coalitions(n)
    size = members.sum(axis=1)
    phi = np.zeros(n)
    for i in range(n):
        without = ~members[:, i]
        w = np.array([math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) for k in size[without]])
        phi[i] = np.sum(w * (v[np.flatnonzero(without) | (1 << i)] - v[without]))
    return phi


def _interventional_reference(model, rows: pd.DataFrame, background: pd.DataFrame) -> np.ndarray:
    n = rows.shape[1]
    members = _coalitions(n)
    out = []
    for _, x in rows.iterrows():
        hybrids = []
        for mask in members:
            h = background.copy()
            for j in np.flatnonzero(mask):
                h.iloc[:, j] = x.iloc[j]
            hybrids.append(h)
        frame = pd.concat(hybrids, ignore_index=True).astype(background.dtypes.to_dict())
        v = _model_margin(model, frame).reshape(len(members), len(background)).mean(axis=1)
        out.append(_shapley(v, n))
    return np.array(out)


def _goes_left(ens, node: int, value: float) -> bool:
    """Routing restated in Python (numeric and bitset splits), for the reference walk only."""
    if np.isnan(value):
        return bool(ens.missing_left[node])
    if ens.is_categorical[node]:
        if value < 0 or value >= 256:
            return bool(ens.missing_left[node])
        code = int(value)
        if (int(ens.bitsets[ens.bitset_idx[node], code >> 5]) >> (code & 31)) & 1:
            return True
        known = ens.known_bitset_idx[node]
        if known < 0 or (int(ens.bitsets[known, code >> 5]) >> (code & 31)) & 1:
            return False
        return bool(ens.missing_left[node])
    return bool(value <= ens.threshold[node])


def _path_dependent_reference(explainer: Explainer, rows: pd.DataFrame) -> np.ndarray:
    ens, adapter = explainer._ensemble, explainer._adapter
    owners = np.asarray(adapter.owners)
    n = len(adapter.raw_features)
    members = _coalitions(n)
    out = []
    for xp in _prepare_inputs(ens, adapter.transform(rows)):

        def walk(node: int) -> np.ndarray:
            if ens.left[node] < 0:
                return np.full(len(members), ens.value[node])
            lo, hi = walk(ens.left[node]), walk(ens.right[node])
            known = lo if _goes_left(ens, node, xp[ens.feature[node]]) else hi
            unknown = (ens.cover[ens.left[node]] * lo + ens.cover[ens.right[node]] * hi) / ens.cover[node]
            return np.where(members[:, owners[ens.feature[node]]], known, unknown)

        v = ens.base_offset + sum(walk(ens.tree_offsets[t]) for t in range(ens.n_trees))
        out.append(_shapley(v, n))
    return np.array(out)


@pytest.fixture(scope="module")
def portfolio():
    return _portfolio(700, seed=3)


@pytest.fixture(scope="module", params=sorted(MODELS))
def onehot_model(request, portfolio):
    X, y = portfolio
    return request.param, MODELS[request.param]().fit(X, y)


def test_interventional_values_are_the_raw_feature_game(onehot_model, portfolio):
    name, model = onehot_model
    X, _ = portfolio
    background, rows = X.iloc[:20], X.iloc[600:603]
    result = Explainer(model, background=background, tree_mode="interventional").explain(rows)
    assert result.engine == "numba" and result.players == "raw_features"
    expected = _interventional_reference(model, rows, background)
    # XGBoost scores the reference hybrids in float32: its documented precision bounds the comparison.
    atol = 1e-6 if name != "xgboost" else 2e-5
    np.testing.assert_allclose(result.values.to_numpy(), expected, rtol=0, atol=atol)
    np.testing.assert_allclose(result.base_values + result.values.sum(axis=1), result.margins, atol=result.tolerance)
    np.testing.assert_allclose(result.margins, _model_margin(model, rows), atol=1e-6 if name != "xgboost" else 2e-5)
    assert np.abs(expected[:, :2]).max() > 1e-2  # the one-hot features matter in these games


def test_path_dependent_values_are_the_raw_feature_game(onehot_model, portfolio):
    name, model = onehot_model
    X, _ = portfolio
    rows = X.iloc[600:603]
    explainer = Explainer(model, tree_mode="path_dependent")
    result = explainer.explain(rows)
    assert result.engine == "numba" and result.players == "raw_features"
    np.testing.assert_allclose(result.values.to_numpy(), _path_dependent_reference(explainer, rows), rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.base_values + result.values.sum(axis=1), result.margins, atol=result.tolerance)


def test_summing_encoded_columns_would_not_be_exact(portfolio):
    """The reason for raw players: on these trees the per-column sum is measurably another quantity."""
    import shap

    X, y = portfolio
    model = MODELS["gradient_boosting"]().fit(X, y)
    rows, background = X.iloc[600:610], X.iloc[:20]
    ours = Explainer(model, background=background).explain(rows).values.to_numpy()
    encode = model[:-1]
    per_column = shap.TreeExplainer(model[-1], data=encode.transform(background), model_output="raw",
                                    feature_perturbation="interventional").shap_values(encode.transform(rows))
    widths = [len(CATS["purpose"]), len(CATS["housing"])]
    summed = np.column_stack([per_column[:, :widths[0]].sum(1), per_column[:, widths[0]:sum(widths)].sum(1)])
    assert np.abs(summed - ours[:, :2]).max() > 1e-4
    # Numeric features may differ too (their coalitions see different hybrids); totals agree.
    np.testing.assert_allclose(summed.sum(1) + per_column[:, sum(widths):].sum(1), ours.sum(1), atol=1e-6)


def test_a_transformer_that_mixes_inputs_is_refused(portfolio):
    X, y = portfolio
    mixing = Pipeline([
        ("encode", ColumnTransformer([("onehot", OneHotEncoder(sparse_output=False), list(CATS)),
                                      ("pca", PCA(n_components=3), NUMERIC[:3]),
                                      ("keep", "passthrough", NUMERIC[3:])])),
        ("model", GradientBoostingClassifier(n_estimators=5, random_state=0)),
    ]).fit(X, y)
    with pytest.raises(ModelNotSupportedError, match="mixes several inputs"):
        Explainer(mixing, background=X.iloc[:20])


# --------------------------------------------------------------------------- pandas category columns


def _categorical_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = _portfolio(n, seed)
    for c, levels in CATS.items():
        X[c] = pd.Categorical(X[c], categories=levels)
    X.loc[X.index[::23], "housing"] = np.nan  # a missing category, routed natively by all three
    return X, y


CATEGORICAL_MODELS = {
    "hist_gb": lambda: HistGradientBoostingClassifier(max_iter=15, max_depth=5, early_stopping=False, random_state=0),
    "xgboost": lambda: xgboost.XGBClassifier(n_estimators=15, max_depth=5, enable_categorical=True, tree_method="hist",
                                             max_cat_to_onehot=1, n_jobs=1, random_state=0),
    "lightgbm": lambda: lightgbm.LGBMClassifier(n_estimators=15, num_leaves=16, min_child_samples=5, min_data_per_group=5,
                                                cat_smooth=1, verbose=-1, n_jobs=1, random_state=0),
}


@pytest.mark.parametrize("name", sorted(CATEGORICAL_MODELS))
def test_category_columns_are_explained_exactly(name):
    X, y = _categorical_frame(700, seed=5)
    model = CATEGORICAL_MODELS[name]().fit(X, y)
    background, rows = X.iloc[:15], X.iloc[[600, 601, 602, 621]]  # 621 has a missing housing
    assert rows["housing"].isna().any()

    interventional = Explainer(model, background=background).explain(rows)
    assert interventional.engine == "numba" and interventional.mode == "interventional"
    atol = 1e-6 if name != "xgboost" else 2e-5
    np.testing.assert_allclose(interventional.values.to_numpy(), _interventional_reference(model, rows, background),
                               rtol=0, atol=atol)
    np.testing.assert_allclose(interventional.margins, _model_margin(model, rows), atol=atol)

    explainer = Explainer(model, background=background, tree_mode="path_dependent")
    path = explainer.explain(rows)
    np.testing.assert_allclose(path.values.to_numpy(), _path_dependent_reference(explainer, rows), rtol=0, atol=1e-6)
    for result in (interventional, path):
        np.testing.assert_allclose(result.base_values + result.values.sum(axis=1), result.margins,
                                   atol=result.tolerance)
    # The categorical splits are really there, and they matter.
    assert explainer._ensemble.is_categorical.any()
    assert np.abs(interventional.values[list(CATS)].to_numpy()).max() > 1e-2


def test_an_unknown_category_is_named():
    X, y = _categorical_frame(300, seed=6)
    model = CATEGORICAL_MODELS["hist_gb"]().fit(X, y)
    explainer = Explainer(model, background=X.iloc[:20])
    bad = X.iloc[:2].copy()
    bad["purpose"] = bad["purpose"].cat.add_categories(["holiday"])
    bad.iloc[0, bad.columns.get_loc("purpose")] = "holiday"
    with pytest.raises(ValueError, match="purpose") as info:
        explainer.explain(bad)
    assert "holiday" in str(info.value)
    assert "numbers" not in str(info.value)
