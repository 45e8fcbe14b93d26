"""Exactness tests for explain.attribution._treeshap.

The reference values here never go through our routing code: margins come from
the fitted scikit-learn models, interventional Shapley values are brute-forced
by enumerating coalitions through ``decision_function``, the path-dependent game
is evaluated by a separate recursive traversal, and shap's own C++ TreeExplainer
is used where it is trustworthy (classic sklearn GradientBoosting).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)

from explain.attribution._treeshap import (
    TreeEnsemble,
    interventional_shap,
    path_dependent_shap,
    predict_margin,
)

# --------------------------------------------------------------------------- data


def _numeric_data(seed: int, n: int, p: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[rng.random(n) < 0.1, 1] = np.nan
    logit = X[:, 0] + np.nan_to_num(X[:, 1]) * X[:, 2] - 0.5 * X[:, 3] ** 2
    y = (logit + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


# Raw category values are deliberately non-contiguous and the categorical
# columns sit between numeric ones: the model re-encodes them and reorders its
# columns internally, and both have to be undone.
_CATS_A = np.array([1.0, 4.0, 5.0, 9.0, 12.0])
_CATS_B = np.array([0.0, 2.0, 3.0])


def _categorical_data(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[:, 2] = rng.choice(_CATS_A, size=n)
    X[:, 4] = rng.choice(_CATS_B, size=n)
    X[rng.random(n) < 0.1, 0] = np.nan
    X[rng.random(n) < 0.1, 2] = np.nan
    effect_a = np.select([X[:, 2] == 4.0, X[:, 2] == 9.0, np.isnan(X[:, 2])], [1.5, -1.0, 0.7], 0.0)
    logit = np.nan_to_num(X[:, 0]) + effect_a + (X[:, 4] == 2.0) * X[:, 1] - 0.3
    y = (logit + 0.3 * rng.normal(size=n) > 0).astype(int)
    return X, y


def _with_odd_categories(X: np.ndarray) -> np.ndarray:
    """Rows the categorical splits must route like sklearn: unseen, negative, fractional codes."""
    X = X.copy()
    X[0, 2] = 7.0  # unseen category
    X[1, 2] = -1.0
    X[2, 2] = 4.5
    X[3, 2] = 300.0
    X[4, 4] = 1.0  # unseen inside the known range
    X[5, 4] = np.nan
    return X


@pytest.fixture(scope="module")
def hgb_numeric():
    X, y = _numeric_data(0, 600, 8)
    model = HistGradientBoostingClassifier(
        max_iter=40, max_depth=5, learning_rate=0.2, early_stopping=False, random_state=0
    ).fit(X, y)
    return model, X


@pytest.fixture(scope="module")
def hgb_categorical():
    X, y = _categorical_data(1, 600)
    model = HistGradientBoostingClassifier(
        max_iter=40, max_depth=4, learning_rate=0.2, categorical_features=[2, 4],
        early_stopping=False, random_state=0,
    ).fit(X, y)
    return model, X


@pytest.fixture(scope="module")
def hgb_small():
    """6 features, 20 trees of depth <= 3, one categorical column: brute-forceable."""
    X, y = _categorical_data(2, 500)
    model = HistGradientBoostingClassifier(
        max_iter=20, max_depth=3, learning_rate=0.3, categorical_features=[2],
        min_samples_leaf=10, early_stopping=False, random_state=0,
    ).fit(X, y)
    return model, X


# --------------------------------------------------------------------------- additivity


def _assert_additive(ens, X, background, margin):
    phi_i, base_i = interventional_shap(ens, X, background)
    phi_p, base_p = path_dependent_shap(ens, X)
    assert phi_i.shape == phi_p.shape == (X.shape[0], ens.n_features)
    np.testing.assert_allclose(base_i + phi_i.sum(axis=1), margin, rtol=0, atol=1e-6)
    np.testing.assert_allclose(base_p + phi_p.sum(axis=1), margin, rtol=0, atol=1e-6)


def test_hgb_numeric_margin_and_additivity(hgb_numeric):
    model, X = hgb_numeric
    ens = TreeEnsemble.from_hist_gradient_boosting(model)
    rows = X[:300]
    margin = model.decision_function(rows)
    np.testing.assert_allclose(predict_margin(ens, rows), margin, rtol=0, atol=1e-10)
    _assert_additive(ens, rows, X[-50:], margin)


def test_hgb_regressor_margin_and_additivity():
    X, y = _numeric_data(3, 400, 5)
    model = HistGradientBoostingRegressor(
        max_iter=30, max_depth=4, early_stopping=False, random_state=0
    ).fit(X, y + X[:, 0])
    ens = TreeEnsemble.from_hist_gradient_boosting(model)
    margin = model.predict(X[:200])
    np.testing.assert_allclose(predict_margin(ens, X[:200]), margin, rtol=0, atol=1e-10)
    _assert_additive(ens, X[:200], X[-40:], margin)


def test_hgb_categorical_margin_and_additivity(hgb_categorical):
    model, X = hgb_categorical
    assert any(p[0].raw_left_cat_bitsets.shape[0] for p in model._predictors)
    ens = TreeEnsemble.from_hist_gradient_boosting(model)
    rows = _with_odd_categories(X[:300])
    margin = model.decision_function(rows)
    np.testing.assert_allclose(predict_margin(ens, rows), margin, rtol=0, atol=1e-10)
    # Odd categories in the background too: they are routed as missing there.
    _assert_additive(ens, rows, _with_odd_categories(X[-60:]), margin)


def test_sklearn_forest_margin_and_additivity():
    X, y = _numeric_data(4, 300, 5)
    X = np.nan_to_num(X)
    model = RandomForestClassifier(n_estimators=8, max_depth=5, random_state=0).fit(X, y)
    ens = TreeEnsemble.from_sklearn_trees(model)
    margin = model.predict_proba(X[:100])[:, 1]
    np.testing.assert_allclose(predict_margin(ens, X[:100]), margin, rtol=0, atol=1e-10)
    _assert_additive(ens, X[:100], X[-30:], margin)


# --------------------------------------------------------------------------- brute force


def _shapley_from_game(values: dict[frozenset, np.ndarray], n: int) -> np.ndarray:
    phi = np.zeros((next(iter(values.values())).shape[0], n))
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for k in range(n):
            w = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
            for S in itertools.combinations(others, k):
                S = frozenset(S)
                phi[:, i] += w * (values[S | {i}] - values[S])
    return phi


def _all_coalitions(n: int):
    for k in range(n + 1):
        for S in itertools.combinations(range(n), k):
            yield frozenset(S)


def test_interventional_matches_brute_force(hgb_small):
    model, X = hgb_small
    n = X.shape[1]
    ens = TreeEnsemble.from_hist_gradient_boosting(model)
    rows = _with_odd_categories(X[:8])[[0, 1, 2, 3, 6, 7]]
    background = X[-15:]
    # v(S) = mean_z f(x_S, z_notS), evaluated by the model itself.
    values = {}
    for S in _all_coalitions(n):
        mask = np.zeros(n, dtype=bool)
        mask[list(S)] = True
        hybrid = np.where(mask, rows[:, None, :], background[None, :, :])
        f = model.decision_function(hybrid.reshape(-1, n)).reshape(len(rows), len(background))
        values[S] = f.mean(axis=1)
    expected = _shapley_from_game(values, n)
    phi, base = interventional_shap(ens, rows, background)
    assert base == pytest.approx(values[frozenset()][0], abs=1e-12)
    np.testing.assert_allclose(phi, expected, rtol=0, atol=1e-9)
    assert np.abs(expected).max() > 1e-2  # the game is not trivial


def _hgb_goes_left(node, v, bitsets) -> bool:
    # Inputs here are already encoded by the model, so categories are known codes or NaN.
    if np.isnan(v):
        return bool(node["missing_go_to_left"])
    if node["is_categorical"]:
        c = int(v)
        return bool((bitsets[node["bitset_idx"], c // 32] >> (c % 32)) & 1)
    return bool(v <= node["num_threshold"])


def _path_game(nodes, bitsets, x, S) -> float:
    """Classic TreeSHAP EXPVALUE: known features follow x, unknown ones split by count."""

    def rec(i):
        node = nodes[i]
        if node["is_leaf"]:
            return float(node["value"])
        left, right = int(node["left"]), int(node["right"])
        if int(node["feature_idx"]) in S:
            return rec(left if _hgb_goes_left(node, x[node["feature_idx"]], bitsets) else right)
        c = float(node["count"])
        return (nodes[left]["count"] * rec(left) + nodes[right]["count"] * rec(right)) / c

    return rec(0)


def test_path_dependent_matches_brute_force(hgb_small):
    model, X = hgb_small
    n = X.shape[1]
    ens = TreeEnsemble.from_hist_gradient_boosting(model)
    rows = _with_odd_categories(X[:8])[[0, 1, 2, 3, 6, 7]]
    # The trees index the model's internal columns: categorical ones first.
    internal = model._preprocess_X(rows, reset=False)
    cat_cols = np.flatnonzero(model.is_categorical_)
    order = np.r_[cat_cols, np.flatnonzero(~model.is_categorical_)]
    baseline = float(np.ravel(model._baseline_prediction)[0])
    values = {}
    for S in _all_coalitions(n):
        values[S] = np.array([
            baseline + sum(
                _path_game(p[0].nodes, p[0].raw_left_cat_bitsets, x, S)
                for p in model._predictors
            )
            for x in internal
        ])
    expected_internal = _shapley_from_game(values, n)
    expected = np.empty_like(expected_internal)
    expected[:, order] = expected_internal
    phi, base = path_dependent_shap(ens, rows)
    assert base == pytest.approx(values[frozenset()][0], abs=1e-12)
    np.testing.assert_allclose(phi, expected, rtol=0, atol=1e-9)
    assert np.abs(expected).max() > 1e-2


# --------------------------------------------------------------------------- shap cross-check


def test_matches_shap_on_sklearn_gradient_boosting():
    shap = pytest.importorskip("shap")
    rng = np.random.default_rng(5)
    # float32-representable inputs: sklearn trees compare float32(x), so this
    # keeps the comparison about the algorithms rather than rounding.
    X = rng.normal(size=(500, 6)).astype(np.float32).astype(np.float64)
    y = (X[:, 0] + X[:, 1] * X[:, 2] - X[:, 3] ** 2 + 0.5 * rng.normal(size=500) > 0).astype(int)
    model = GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0).fit(X, y)
    ens = TreeEnsemble.from_sklearn_trees(model)
    # Fresh rows, not training rows: shap's interventional kernel stores
    # thresholds as float32 and could misroute values lying exactly on a split.
    rows = rng.normal(size=(60, 6)).astype(np.float32).astype(np.float64)
    background = rng.normal(size=(40, 6)).astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(
        predict_margin(ens, rows), model.decision_function(rows), rtol=0, atol=1e-10
    )

    explainer = shap.TreeExplainer(
        model, data=background, feature_perturbation="interventional", model_output="raw"
    )
    phi, base = interventional_shap(ens, rows, background)
    assert base == pytest.approx(float(np.ravel(explainer.expected_value)[0]), abs=1e-8)
    # shap's interventional C++ kernel keeps leaf values and weights in float32,
    # so it is itself only ~1e-8 accurate; ours is exact to ~1e-14 (see the
    # brute-force tests), hence the looser bound on this one comparison.
    np.testing.assert_allclose(phi, explainer.shap_values(rows), rtol=0, atol=1e-6)

    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    phi, base = path_dependent_shap(ens, rows)
    assert base == pytest.approx(float(np.ravel(explainer.expected_value)[0]), abs=1e-8)
    np.testing.assert_allclose(phi, explainer.shap_values(rows), rtol=0, atol=1e-8)


# --------------------------------------------------------------------------- unsupported


def test_multiclass_hgb_raises():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(150, 3))
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    model = HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(X, y)
    with pytest.raises(NotImplementedError):
        TreeEnsemble.from_hist_gradient_boosting(model)


# --------------------------------------------------------------------------- compiled variants


def test_serial_and_parallel_kernels_are_distinct_functions():
    """numba's cache key is the Python function, not the ``parallel`` flag: one function per variant."""
    from explain.attribution import _treeshap

    serial, parallel = _treeshap._explain_rows_serial, _treeshap._explain_rows_parallel
    assert serial.py_func is not parallel.py_func
    assert serial.py_func.__qualname__ != parallel.py_func.__qualname__
    assert parallel.targetoptions.get("parallel") and not serial.targetoptions.get("parallel")


_CACHE_PROBE = """
import sys, numpy as np, numba
from explain.attribution import _treeshap
from sklearn.ensemble import RandomForestClassifier
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 4)); y = (X[:, 0] > 0).astype(int)
ens = _treeshap.TreeEnsemble.from_sklearn_trees(RandomForestClassifier(n_estimators=2, max_depth=3, random_state=0).fit(X, y))
rows = 1 if sys.argv[1] == "serial" else 4 * _treeshap._PARALLEL_MIN_ROWS
_treeshap.path_dependent_shap(ens, X[:rows])
if sys.argv[1] == "parallel":
    print(numba.threading_layer())  # raises if no parallel region ever ran in this process
"""


def test_cached_serial_kernel_is_never_loaded_for_the_parallel_one(tmp_path):
    """Compile the serial variant into a fresh cache, then, in a new process, run the parallel one:
    it must really run in parallel (a thread team starts), not load the serial machine code."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    for variant in ("serial", "parallel"):
        done = subprocess.run([sys.executable, "-c", _CACHE_PROBE, variant], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()  # the threading layer's name


@pytest.mark.parametrize("max_players", [0, 3])
def test_leaves_without_tables_give_the_same_values(hgb_categorical, monkeypatch, max_players):
    """Deep leaves (too many players for a table) take the linear pass (path-dependent) or are computed per
    call (interventional, or a tree the linear pass cannot take): same values every way."""
    from explain.attribution import _treeshap

    model, X = hgb_categorical
    ens = TreeEnsemble.from_hist_gradient_boosting(model)
    rows, background = _with_odd_categories(X[:40]), X[-30:]
    tabled = [_treeshap.explain_prepared(_treeshap.prepare(ens, background=bg), rows) for bg in (None, background)]
    monkeypatch.setattr(_treeshap, "_TABLE_MAX_PLAYERS", max_players)
    monkeypatch.setattr(_treeshap, "_IV_TABLE_MAX_PLAYERS", max_players)
    variants = [(None, True), (None, False), (background, False)]
    for bg, linear in variants:
        monkeypatch.setattr(_treeshap, "_LINEAR_PASS", linear)
        prep = _treeshap.prepare(ens, background=bg)
        assert prep.tree_linear.any() == linear
        assert (prep.tab_off >= 0).mean() < 1.0
        phi, base, margin = tabled[bg is not None]
        phi2, base2, margin2 = _treeshap.explain_prepared(prep, rows)
        np.testing.assert_allclose(phi2, phi, rtol=0, atol=1e-12)
        assert base2 == base
        np.testing.assert_allclose(margin2, margin, rtol=0, atol=1e-12)
