"""The recourse search's fast paths give the exact answer: a pair's grid of margins walked tree by tree equals
routing every grid row (and the model's own margin), and the MILP for three changes finds the brute-force
optimum over every combination of cells."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits
from recourse_support import TOY_CATALOG

from explain import CatalogError, Explainer, FeatureCatalog
from explain.recourse import Recourse, RecourseSolver
from explain.recourse._solver import Account

_CATALOG = {**TOY_CATALOG, "recourse": {**TOY_CATALOG["recourse"], "max_changes": 3}}  # room for the MILP


@pytest.fixture(autouse=True)
def _one_thread():
    """Small models and a few hundred rows: OpenMP's thread team (HistGradientBoosting) costs more than it
    saves, badly so on a busy machine."""
    with threadpool_limits(1):
        yield


def _data(seed: int, n: int = 600) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "utilisation": rng.integers(0, 60, n).astype(float),
        "savings": rng.integers(0, 40, n).astype(float),
        "tenure_years": rng.integers(0, 12, n).astype(float),
        "channel": rng.choice(["branch", "online", "broker"], n),
        "age": rng.integers(20, 70, n).astype(float),
    })
    logit = (0.08 * X.utilisation - 0.07 * X.savings - 0.2 * X.tenure_years + 0.02 * X.utilisation * X.tenure_years
             + X.channel.map({"branch": -0.5, "online": 0.0, "broker": 0.6}) + 0.01 * X.age - 0.8)
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def _model(kind: str, seed: int):
    """A small random ensemble: XGBoost on one-hot channels, or HistGradientBoosting with native categories."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    X, y = _data(seed)
    if kind == "xgboost":
        import xgboost

        encode = ColumnTransformer([("c", OneHotEncoder(categories=[["branch", "online", "broker"]],
                                                        sparse_output=False), ["channel"])],
                                   remainder="passthrough", verbose_feature_names_out=False)
        est = xgboost.XGBClassifier(n_estimators=30, max_depth=4, learning_rate=0.3, n_jobs=1, random_state=seed)
    else:
        from sklearn.ensemble import HistGradientBoostingClassifier

        encode = ColumnTransformer([("c", OrdinalEncoder(categories=[["branch", "online", "broker"]]), ["channel"])],
                                   remainder="passthrough", verbose_feature_names_out=False)
        est = HistGradientBoostingClassifier(max_iter=30, max_depth=4, learning_rate=0.3, categorical_features=[0],
                                             random_state=seed)
    return Pipeline([("encode", encode), ("model", est)]).fit(X, y), X


def _solver(model, X: pd.DataFrame, **policy) -> tuple[RecourseSolver, Explainer]:  # noqa: ANN001
    catalog = FeatureCatalog.from_dict(_CATALOG)
    explainer = Explainer(model, catalog=catalog, background=X.iloc[:200], random_state=0)
    solver = RecourseSolver(explainer, replace(catalog.recourse, **policy),
                            kinds={f: s.kind for f, s in catalog.features.items()},
                            orders={f: s.order for f, s in catalog.features.items()})
    return solver, explainer


@pytest.mark.parametrize(("kind", "seed"), [("xgboost", 1), ("xgboost", 2), ("hgb", 3), ("hgb", 4)])
def test_pair_grid_equals_routing_every_row_and_the_model(kind, seed):
    """Property test (fixed seeds): for every pair of moved features of several accounts, the tree-by-tree
    grid walk gives every grid row exactly the leaves that routing it through the shared trees gives (the
    search before it), and the grid's margins equal that search's and the model's own."""
    from explain.recourse._kernels import leaf_values, pair_leaf_values

    model, X = _model(kind, seed)
    solver, explainer = _solver(model, X, max_changes=2)
    ens = solver._ens
    rng = np.random.default_rng(seed)
    checked = 0
    for i in rng.choice(len(X), 5, replace=False):
        account = Account.of_frame(explainer._checked(X.iloc[[i]]), solver._adapter.transform)
        row = account.values
        moves = [(f, f.moves(row[f.index])) for f in solver._features]
        moves = [(f, m) for f, m in moves if m.values]
        state = solver._margin_state(account, moves)
        for p, q in itertools.combinations(range(len(moves)), 2):
            fp, fq = moves[p][0], moves[q][0]
            na, nb = len(moves[p][1].values), len(moves[q][1].values)
            grid = solver._pair_grid(state, moves, p, q)
            a, b = np.repeat(np.arange(na), nb), np.tile(np.arange(nb), na)
            # The search before the grid walk: route every grid row through the trees both features share.
            singles, sl = state["singles"], state["slices"]
            rows = np.repeat(state["x0"], na * nb, axis=0)
            rows[:, fp.columns] = singles[sl[p]][a][:, fp.columns]
            rows[:, fq.columns] = singles[sl[q]][b][:, fq.columns]
            shared, in_p, in_q = solver._shared_trees(fp, fq)
            old = state["m0"] + state["delta"][p][a] + state["delta"][q][b]
            if shared.size:
                routed = leaf_values(ens, rows, shared)
                walked = np.concatenate([block for *_, block in pair_leaf_values(
                    ens, state["x0"][0], fp.columns, singles[sl[p]][:, fp.columns], fq.columns,
                    singles[sl[q]][:, fq.columns], shared, solver._depth)])
                assert np.array_equal(walked, routed)  # the same leaf of every tree for every grid row
                old += (routed.sum(axis=1) - state["leaves"][p][a][:, in_p].sum(axis=1)
                        - state["leaves"][q][b][:, in_q].sum(axis=1) + state["leaves0"][p][in_p].sum())
            # Equal up to the order NumPy adds in (it sums a one-row table differently from a taller one).
            np.testing.assert_allclose(grid, old, rtol=0, atol=1e-12)
            model_rows = np.repeat(state["x0t"], na * nb, axis=0)
            model_rows[:, fp.columns] = state["singles_t"][sl[p]][a][:, fp.columns]
            model_rows[:, fq.columns] = state["singles_t"][sl[q]][b][:, fq.columns]
            # XGBoost sums its trees in float32: its own margin differs from the float64 sum by ~1e-7.
            atol = 1e-5 if kind == "xgboost" else 1e-9
            np.testing.assert_allclose(grid, solver._adapter.margin_fn(model_rows), rtol=0, atol=atol)
            checked += na * nb
    assert checked > 500


def _brute_force(solver: RecourseSolver, model, account: pd.DataFrame, target: float, k: int):  # noqa: ANN001
    """Every combination of at most ``k`` features over every cell (the search's candidates), scored by the
    model itself: (cheapest cost reaching the target, best score reachable)."""
    row = account.iloc[0]
    options = []
    for f in solver._features:
        m = f.moves(row.iloc[f.index])
        options.append([(f.action.feature, v, c) for v, c in zip(m.values, m.costs.tolist(), strict=True)])
    combos = [combo for r in range(1, k + 1) for fs in itertools.combinations(range(len(options)), r)
              for combo in itertools.product(*(options[i] for i in fs))]
    frame = account.loc[account.index.repeat(len(combos))].reset_index(drop=True)
    for name in {c[0] for combo in combos for c in combo}:
        column = frame[name].to_numpy(dtype=object, copy=True)
        for j, combo in enumerate(combos):
            for feature, value, _ in combo:
                if feature == name:
                    column[j] = value
        frame[name] = column if name == "channel" else column.astype(float)
    scores = model.predict_proba(frame)[:, 1]
    costs = np.array([sum(c for *_, c in combo) for combo in combos])
    feasible = scores <= target
    return (float(np.round(costs[feasible], 12).min()) if feasible.any() else np.inf), float(scores.min())


def test_milp_for_three_changes_equals_brute_force_optimum():
    model, X = _model("hgb", 5)
    solver, explainer = _solver(model, X)
    scores = model.predict_proba(X)[:, 1]
    seen = {"found": 0, "infeasible": 0, "three": 0}
    for target in (0.3, 0.08, 0.02):
        for i in np.flatnonzero(scores > 0.5)[:5]:
            account = explainer._checked(X.iloc[[i]])
            recourse = solver.solve(account, "limit_decrease", target=target)
            best_cost, best_score = _brute_force(solver, model, account, target, 3)
            assert recourse.milp["max_changes"] == 3 and recourse.milp["proven"]
            if np.isfinite(best_cost):
                assert recourse.status == "found"
                first = recourse.suggestions[0]
                assert round(first.cost, 12) == pytest.approx(best_cost, abs=1e-12)
                seen["three"] += len(first.changes) == 3
                for suggestion in recourse.suggestions:
                    applied = account.copy()
                    for change in suggestion.changes:
                        applied[change.feature] = [change.value]
                    assert model.predict_proba(applied)[0, 1] <= target
                    assert len(suggestion.changes) <= 3
                    assert "age" not in suggestion.features
            else:
                assert recourse.status == "infeasible" and not recourse.suggestions
                assert recourse.certificate.max_changes == 3
                assert recourse.certificate.best_score == pytest.approx(best_score, abs=1e-12)
            seen[recourse.status] += 1
    assert seen["found"] and seen["infeasible"] and seen["three"]  # every branch was exercised
    # Proven answers are reproducible (replay compares them byte for byte): again, and from a fresh solver.
    account = explainer._checked(X.iloc[[int(np.flatnonzero(scores > 0.5)[0])]])
    fresh, _ = _solver(model, X)
    first = json.dumps(solver.solve(account, "limit_decrease", target=0.08).to_dict(), sort_keys=True)
    assert first == json.dumps(solver.solve(account, "limit_decrease", target=0.08).to_dict(), sort_keys=True)
    assert first == json.dumps(fresh.solve(account, "limit_decrease", target=0.08).to_dict(), sort_keys=True)
    assert Recourse.from_dict(json.loads(first)).to_dict() == json.loads(first)


def test_milp_time_limit_is_said_not_proven():
    """A time limit too short to prove anything: never "infeasible"; what is shown is only what the
    enumeration of one and two changes found and the model verified, and without it the case goes to review."""
    model, X = _model("hgb", 5)
    solver, explainer = _solver(model, X, time_limit=1e-9)
    scores = model.predict_proba(X)[:, 1]
    account = explainer._checked(X.iloc[[int(np.argmax(scores))]])
    nothing = solver.solve(account, "limit_decrease", target=0.001)  # nothing within two changes either
    assert nothing.status == "time_limit" and nothing.milp["proven"] is False
    assert nothing.needs_review and not nothing.suggestions
    assert nothing.to_dict()["milp"] == {"solver": "highs", "max_changes": 3, "time_limit_s": 1e-9, "solves": 0,
                                         "proven": False}
    some = solver.solve(account, "limit_decrease", target=0.3)
    assert some.status == "time_limit" and some.suggestions and not some.needs_review
    for suggestion in some.suggestions:
        assert len(suggestion.changes) <= 2
        applied = account.copy()
        for change in suggestion.changes:
            applied[change.feature] = [change.value]
        assert model.predict_proba(applied)[0, 1] <= 0.3


def test_more_than_two_changes_is_the_same_answer_when_two_suffice():
    """Raising max_changes never changes an answer that one or two changes already give at the least cost."""
    model, X = _model("xgboost", 6)
    two, explainer = _solver(model, X, max_changes=2)
    three, _ = _solver(model, X, max_changes=3)
    scores = model.predict_proba(X)[:, 1]
    for i in np.flatnonzero(scores > 0.5)[:4]:
        account = explainer._checked(X.iloc[[i]])
        a, b = two.solve(account, "limit_decrease"), three.solve(account, "limit_decrease")
        assert b.suggestions[0].cost <= a.suggestions[0].cost + 1e-12
        if len(b.suggestions[0].changes) <= 2:
            assert b.suggestions[0] == a.suggestions[0]


@pytest.mark.parametrize(("recourse", "message"), [
    ({"max_changes": 5}, "'max_changes' must be an integer from 1 to 4"),
    ({"time_limit": 0}, "'time_limit' must be greater than 0"),
])
def test_catalog_bounds_the_milp(recourse, message):
    with pytest.raises(CatalogError, match=message):
        FeatureCatalog.from_dict({**_CATALOG, "recourse": recourse})
