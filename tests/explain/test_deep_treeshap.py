"""Exactness of TreeSHAP on deep trees (depth 8-12, LightGBM with 63+ leaves), both meanings.

Deep leaves have more players than a per-leaf table holds, so they take other paths (the linear pass for
path-dependent trees, compressed tables or per-call work for interventional leaves). The references never
go through our routing: on 10 features the games are enumerated over all 1,024 coalitions from the fitted
models' own trees (path-dependent) or predictions (interventional); on 30 features the library's native
contributions (path-dependent) and shap's interventional kernel are the references.
"""

from __future__ import annotations

import math

import lightgbm
import numpy as np
import pytest
import xgboost
from sklearn.ensemble import RandomForestClassifier

from explain.attribution import _treeshap
from explain.attribution._treeshap import TreeEnsemble, explain_prepared, prepare

N_SMALL = 10  # features of the brute-forced models: 2**10 coalitions


def _data(seed: int, n: int, p: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # float32-representable values: XGBoost and sklearn trees compare float32(x), LightGBM float64.
    X = rng.normal(size=(n, p)).astype(np.float32).astype(np.float64)
    logit = X[:, :6].sum(axis=1) * 0.6 + X[:, 6] * X[:, 7] - 0.5 * X[:, 8] ** 2 + X[:, 9] * X[:, 0]
    return X, (logit + rng.normal(size=n) > 0).astype(int)


def _coalition_masks(n: int) -> np.ndarray:
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(bool)  # (2**n, n)


def _shapley(values: np.ndarray, n: int) -> np.ndarray:
    """Shapley values of a game given on every coalition (bit-indexed rows: values[S, row])."""
    sizes = _coalition_masks(n).sum(axis=1)
    phi = np.zeros((values.shape[1], n))
    for i in range(n):
        without = np.flatnonzero(((np.arange(1 << n) >> i) & 1) == 0)
        k = sizes[without]
        w = np.array([math.factorial(a) * math.factorial(n - a - 1) / math.factorial(n) for a in k])
        phi[:, i] = w @ (values[without | (1 << i)] - values[without])
    return phi


def _path_game_sklearn(trees, rows: np.ndarray, scale: float) -> np.ndarray:
    """The classic TreeSHAP game of sklearn trees on every coalition, read from ``tree_`` itself."""
    known = _coalition_masks(rows.shape[1])
    xs = rows.astype(np.float32)
    total = np.zeros((known.shape[0], rows.shape[0]))
    for tree in trees:
        value = tree.value[:, 0, 1] / tree.value[:, 0, :].sum(axis=1)
        cover = tree.weighted_n_node_samples

        def game(i: int, tree=tree, value=value, cover=cover) -> np.ndarray:
            lc, rc = tree.children_left[i], tree.children_right[i]
            if lc < 0:
                return np.full((known.shape[0], rows.shape[0]), value[i])
            f = tree.feature[i]
            left, right = game(lc), game(rc)
            follow = np.where(xs[:, f] <= tree.threshold[i], left, right)
            mixed = (cover[lc] * left + cover[rc] * right) / cover[i]
            return np.where(known[:, [f]], follow, mixed)

        total += game(0)
    return total * scale


def _path_game_lightgbm(model, rows: np.ndarray) -> np.ndarray:
    """The same game for a LightGBM model, read from its own ``dump_model``."""
    known = _coalition_masks(rows.shape[1])

    def game(node: dict) -> np.ndarray:
        if "leaf_value" in node:
            return np.full((known.shape[0], rows.shape[0]), node["leaf_value"])
        left, right = node["left_child"], node["right_child"]
        count = lambda n: n.get("internal_count", n.get("leaf_count"))  # noqa: E731
        f = node["split_feature"]
        a, b = game(left), game(right)
        follow = np.where(rows[:, f] <= node["threshold"], a, b)
        mixed = (count(left) * a + count(right) * b) / node["internal_count"]
        return np.where(known[:, [f]], follow, mixed)

    return sum(game(info["tree_structure"]) for info in model.booster_.dump_model()["tree_info"])


def _interventional_game(margin, rows: np.ndarray, background: np.ndarray) -> np.ndarray:
    """v(S) = mean over the background of the model's margin on x_S joined with z_notS."""
    known = _coalition_masks(rows.shape[1])
    hybrid = np.where(known[:, None, None, :], rows[None, :, None, :], background[None, None, :, :])
    values = margin(hybrid.reshape(-1, rows.shape[1])).reshape(known.shape[0], rows.shape[0], -1)
    return values.mean(axis=2)


@pytest.fixture(scope="module")
def small_data():
    return _data(0, 1500, N_SMALL)


@pytest.fixture(scope="module")
def deep_forest(small_data):
    X, y = small_data
    model = RandomForestClassifier(n_estimators=3, max_depth=12, random_state=0).fit(X, y)
    return model, TreeEnsemble.from_sklearn_trees(model)


@pytest.fixture(scope="module")
def wide_lightgbm(small_data):
    X, y = small_data
    model = lightgbm.LGBMClassifier(n_estimators=4, num_leaves=63, min_child_samples=5, verbose=-1,
                                    random_state=0).fit(X, y)
    return model, TreeEnsemble.from_lightgbm(model)


def _most_players(prep) -> int:
    return int(prep.n_unique.max())


def test_deep_forest_path_dependent_matches_brute_force(deep_forest, small_data):
    model, ens = deep_forest
    X, _ = small_data
    rows = X[-5:]
    values = _path_game_sklearn([t.tree_ for t in model.estimators_], rows, 1.0 / len(model.estimators_))
    prep = prepare(ens)
    assert _most_players(prep) > _treeshap._TABLE_MAX_PLAYERS and prep.tree_linear.any()
    phi, base, margin = explain_prepared(prep, rows)
    assert base == pytest.approx(values[0, 0], abs=1e-12)
    np.testing.assert_allclose(phi, _shapley(values, N_SMALL), rtol=0, atol=1e-12)
    np.testing.assert_allclose(margin, model.predict_proba(rows)[:, 1], rtol=0, atol=1e-12)


def test_lightgbm_63_leaves_path_dependent_matches_brute_force(wide_lightgbm, small_data):
    model, ens = wide_lightgbm
    X, _ = small_data
    rows = X[-5:]
    values = _path_game_lightgbm(model, rows)
    prep = prepare(ens)
    assert _most_players(prep) > _treeshap._TABLE_MAX_PLAYERS and prep.tree_linear.any()
    phi, base, margin = explain_prepared(prep, rows)
    assert base == pytest.approx(values[0, 0], abs=1e-12)
    np.testing.assert_allclose(phi, _shapley(values, N_SMALL), rtol=0, atol=1e-12)
    np.testing.assert_allclose(margin, model.predict(rows, raw_score=True), rtol=0, atol=1e-12)


@pytest.mark.parametrize("build", ["patterns", "transform"])
@pytest.mark.parametrize("name", ["forest", "lightgbm"])
def test_deep_interventional_matches_brute_force(name, build, deep_forest, wide_lightgbm, small_data, monkeypatch):
    """Every leaf of these models gets a compressed table, built either way (enumerating the background
    patterns' subsets, or the ranked superset transform)."""
    monkeypatch.setattr(_treeshap, "_IV_DIRECT_RATIO", 1e300 if build == "patterns" else 0.0)
    model, ens = deep_forest if name == "forest" else wide_lightgbm
    X, _ = small_data
    rows, background = X[-4:], X[:12]
    margin = ((lambda z: model.predict_proba(z)[:, 1]) if name == "forest"
              else (lambda z: model.predict(z, raw_score=True)))
    values = _interventional_game(margin, rows, background)
    prep = prepare(ens, background=background)
    assert _most_players(prep) > _treeshap._TABLE_MAX_PLAYERS
    assert (prep.tab_off[prep.n_unique > 0] >= 0).all() and prep.pat_mask.size == 0
    phi, base, _ = explain_prepared(prep, rows)
    assert base == pytest.approx(values[0, 0], abs=1e-12)
    np.testing.assert_allclose(phi, _shapley(values, N_SMALL), rtol=0, atol=1e-12)
    assert np.abs(phi).max() > 1e-2


def test_linear_pass_equals_tables_on_every_tree(deep_forest, wide_lightgbm, small_data, monkeypatch):
    """Forced onto every tree, however shallow, the linear pass gives the tables' values."""
    X, _ = small_data
    rows = X[:40]
    for _, ens in (deep_forest, wide_lightgbm):
        tabled = explain_prepared(prepare(ens), rows)
        with monkeypatch.context() as patch:
            patch.setattr(_treeshap, "_LINEAR_FROM_PLAYERS", 0)
            prep = prepare(ens)
            assert prep.tree_linear.all()
            linear = explain_prepared(prep, rows)
        np.testing.assert_allclose(linear[0], tabled[0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(linear[2], tabled[2], rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- many features: native references


@pytest.fixture(scope="module")
def wide_data():
    X, y = _data(1, 2000, 30)
    return X, y


def test_xgboost_depth_10_matches_native_contributions(wide_data):
    X, y = wide_data
    model = xgboost.XGBClassifier(n_estimators=15, max_depth=10, n_jobs=1, random_state=0).fit(X, y)
    ens = TreeEnsemble.from_xgboost(model)
    rows = X[-30:]
    prep = prepare(ens)
    assert prep.tree_linear.any()
    phi, base, margin = explain_prepared(prep, rows)
    native = model.get_booster().predict(xgboost.DMatrix(rows), pred_contribs=True)
    # XGBoost accumulates its contributions in float32.
    np.testing.assert_allclose(phi, native[:, :-1], rtol=0, atol=2e-5)
    np.testing.assert_allclose(base + phi.sum(axis=1), margin, rtol=0, atol=1e-10)


def test_lightgbm_127_leaves_matches_native_and_shap(wide_data):
    shap = pytest.importorskip("shap")
    X, y = wide_data
    model = lightgbm.LGBMClassifier(n_estimators=10, num_leaves=127, min_child_samples=3, verbose=-1,
                                    random_state=0).fit(X, y)
    ens = TreeEnsemble.from_lightgbm(model)
    rows, background = X[-20:], X[:60]
    prep = prepare(ens)
    assert _most_players(prep) > 12 and prep.tree_linear.any()
    phi, _, margin = explain_prepared(prep, rows)
    native = model.predict(rows, pred_contrib=True)
    np.testing.assert_allclose(phi, native[:, :-1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(margin, model.predict(rows, raw_score=True), rtol=0, atol=1e-10)

    phi_i, base_i, margin_i = explain_prepared(prepare(ens, background=background), rows)
    reference = shap.TreeExplainer(model, data=background, feature_perturbation="interventional",
                                   model_output="raw")
    # shap's interventional kernel keeps values in float32 (see test_treeshap).
    np.testing.assert_allclose(phi_i, reference.shap_values(rows), rtol=0, atol=1e-6)
    np.testing.assert_allclose(base_i + phi_i.sum(axis=1), margin_i, rtol=0, atol=1e-10)


def test_short_calls_take_the_linear_pass_with_the_same_values(wide_lightgbm, small_data):
    """A call of a few rows reads no tables (the linear pass streams instead): same values as a batch."""
    _, ens = wide_lightgbm
    X, _ = small_data
    prep = prepare(ens)
    assert not prep.tree_linear.all() and prep.tree_linear_few.all()
    batch = explain_prepared(prep, X[:_treeshap._FEW_ROWS + 4])
    for i in range(3):
        phi, _, margin = explain_prepared(prep, X[i:i + 1])
        np.testing.assert_allclose(phi, batch[0][i:i + 1], rtol=0, atol=1e-12)
        np.testing.assert_allclose(margin, batch[2][i:i + 1], rtol=0, atol=1e-12)
