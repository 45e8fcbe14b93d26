"""Recourse: every shown suggestion reaches the target with the model itself, is optimal over the candidate
cells, respects the catalog's actions, and an infeasible case carries its certificate instead."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from recourse_support import TOY_CATALOG

from explain import CatalogError, Explainer, FeatureCatalog, InvalidInputError
from explain.recourse import Recourse, RecourseSolver, find_recourse
from explain.recourse._cells import percentile

# ------------------------------------------------------------------------------------------ helpers


def _risk(model, frame: pd.DataFrame) -> np.ndarray:
    """The model's own probability of the risky class: an independent path from the solver's scoring."""
    return model.predict_proba(frame)[:, 1]


def _applied(account: pd.DataFrame, suggestion) -> pd.DataFrame:
    frame = account.copy()
    for change in suggestion.changes:
        frame[change.feature] = [change.value]
    return frame


def _check_actions(catalog: FeatureCatalog, account: pd.DataFrame, recourse: Recourse, solver: RecourseSolver) -> None:
    """No suggestion moves a protected or undeclared feature, against its direction or outside its bounds."""
    resolved = {f.action.feature: f for f in solver._features}
    for suggestion in recourse.suggestions:
        assert 1 <= len(suggestion.changes) <= catalog.recourse.max_changes
        for change in suggestion.changes:
            action = catalog.recourse.actions.get(change.feature)
            assert action is not None and action.actionable, change.feature
            assert not catalog.group_of(change.feature).protected
            current = account[change.feature].iloc[0]
            assert change.current == (str(current) if change.kind == "category" else float(current))
            if change.kind == "category":
                order = catalog.features[change.feature].order
                assert order.index(change.value) < order.index(str(current))
                assert not action.to or change.value in action.to
            else:
                assert (change.value < current) if action.direction == "decrease" else (change.value > current)
                f = resolved[change.feature]
                assert f.lo <= change.value <= f.hi


# ------------------------------------------------------------------------------------------ demo bundle


@pytest.fixture(scope="module")
def adverse_accounts(bundle, german) -> pd.DataFrame:
    X, _ = german
    scores = bundle.explainer().explain(X).scores
    return X.iloc[np.argsort(-scores, kind="stable")[:24:4]]


def test_demo_suggestions_reach_the_target_with_the_model_itself(bundle, adverse_accounts):
    target = bundle.catalog.recourse.targets["limit_decrease"]
    shown = 0
    for i in range(len(adverse_accounts)):
        account = adverse_accounts.iloc[[i]]
        recourse = find_recourse(bundle, account, "limit_decrease")
        assert recourse.status in ("found", "infeasible")
        assert recourse.exact and recourse.method == "tree_cells"
        _check_actions(bundle.catalog, account, recourse, bundle.recourse_solver())
        for suggestion in recourse.suggestions:
            applied = _applied(account, suggestion)
            assert _risk(bundle.model, applied)[0] <= target
            assert suggestion.score == pytest.approx(_risk(bundle.model, applied)[0], abs=1e-12)
            shown += 1
        costs = [s.cost for s in recourse.suggestions]
        assert costs == sorted(costs)
        feature_sets = [frozenset(s.features) for s in recourse.suggestions]
        assert all(not a <= b for a, b in itertools.permutations(feature_sets, 2))
    assert shown >= len(adverse_accounts)  # the demo has recourse for its riskiest accounts


def test_demo_is_byte_identical_across_runs_and_solvers(bundle, adverse_accounts):
    account = adverse_accounts.iloc[[0]]
    first = json.dumps(find_recourse(bundle, account, "limit_decrease").to_dict(), sort_keys=True)
    again = json.dumps(find_recourse(bundle, account, "limit_decrease").to_dict(), sort_keys=True)
    fresh = RecourseSolver(bundle.explainer(), bundle.catalog.recourse,
                           kinds={f: s.kind for f, s in bundle.catalog.features.items()},
                           orders={f: s.order for f, s in bundle.catalog.features.items()})
    rebuilt = json.dumps(fresh.solve(bundle.explainer()._checked(account), "limit_decrease").to_dict(), sort_keys=True)
    assert first == again == rebuilt
    assert Recourse.from_dict(json.loads(first)).to_dict() == json.loads(first)


def test_demo_infeasible_target_gives_no_suggestion_and_a_certificate(bundle, adverse_accounts):
    account = adverse_accounts.iloc[[0]]
    recourse = find_recourse(bundle, account, "limit_decrease", target=0.001)
    assert recourse.status == "infeasible" and recourse.needs_review
    assert recourse.suggestions == ()
    cert = recourse.certificate
    assert cert.best_score > 0.001
    assert cert.candidates == recourse.evaluated > 0
    assert {a["feature"] for a in cert.actions} == {
        f for f, a in bundle.catalog.recourse.actions.items() if a.actionable}
    # The best reachable score is what the model itself gives the certificate's best change.
    assert _risk(bundle.model, _applied(account, type("S", (), {"changes": cert.best_changes})))[0] == pytest.approx(
        cert.best_score, abs=1e-9)


def test_target_met_and_favourable_decisions(bundle, german):
    X, _ = german
    scores = bundle.explainer().explain(X).scores
    safe = X.iloc[[int(np.argmin(scores))]]
    assert find_recourse(bundle, safe, "limit_decrease").status == "target_met"
    with pytest.raises(InvalidInputError, match="adverse"):
        find_recourse(bundle, safe, "limit_increase")


# ------------------------------------------------------------------------------------------ a monotone model

@pytest.fixture(scope="module")
def monotone():
    """Risk rises with utilisation, falls with savings and tenure (monotone constraints), plus an ordered
    category and a protected age the model also uses."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    rng = np.random.default_rng(5)
    n = 800
    X = pd.DataFrame({
        "utilisation": rng.integers(0, 60, n).astype(float),
        "savings": rng.integers(0, 40, n).astype(float),
        "tenure_years": rng.integers(0, 12, n).astype(float),
        "channel": rng.choice(["branch", "online", "broker"], n),
        "age": rng.integers(20, 70, n).astype(float),
    })
    logit = (0.08 * X.utilisation - 0.07 * X.savings - 0.2 * X.tenure_years
             + X.channel.map({"branch": -0.5, "online": 0.0, "broker": 0.6}) + 0.01 * X.age - 0.5)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    encode = ColumnTransformer([("c", OrdinalEncoder(categories=[["branch", "online", "broker"]]), ["channel"])],
                               remainder="passthrough", verbose_feature_names_out=False)
    model = Pipeline([("encode", encode), ("model", HistGradientBoostingClassifier(
        max_iter=25, max_depth=3, learning_rate=0.2, monotonic_cst=[1, 1, -1, -1, 0], random_state=0))])
    model.fit(X, y)
    catalog = FeatureCatalog.from_dict(TOY_CATALOG)
    explainer = Explainer(model, catalog=catalog, background=X.iloc[:200], random_state=0)
    solver = RecourseSolver(explainer, catalog.recourse, kinds={f: s.kind for f, s in catalog.features.items()},
                            orders={f: s.order for f, s in catalog.features.items()})
    scores = _risk(model, X)
    return model, catalog, explainer, solver, X, scores


def _brute_force(solver: RecourseSolver, model, account: pd.DataFrame, target: float) -> tuple[float, float]:
    """Every grid value on the allowed side within bounds (not only cell representatives), singles and pairs,
    scored by the model itself: (cheapest cost reaching the target, best score reachable)."""
    row = account.iloc[0]
    options = []
    for f in solver._features:
        x = row[f.action.feature]
        if f.kind == "category":
            order = f.order
            values = [c for c in order[: order.index(x)] if not f.action.to or c in f.action.to]
            ranks = np.sort([order.index(v) for v in f.background])
            costs = [abs(percentile(ranks, np.array([order.index(v)]))[0] - percentile(ranks, np.array([order.index(x)]))[0])
                     for v in values]
        else:
            lo = max(f.lo, x - 200)  # the toy's values are whole numbers within 0..60
            hi = min(f.hi, x + 200)
            grid = np.arange(np.ceil(lo), np.floor(hi) + 1)
            values = [float(v) for v in grid if (v < x if f.action.direction == "decrease" else v > x)]
            if f.action.cost is not None:
                costs = [f.action.cost * abs(v - x) for v in values]
            else:
                costs = [abs(percentile(f.sorted_background, np.array([v]))[0]
                             - percentile(f.sorted_background, np.array([x]))[0]) for v in values]
        options.append([(f.action.feature, v, c) for v, c in zip(values, costs, strict=True)])
    combos = [(o,) for opts in options for o in opts]
    combos += [(a, b) for i, j in itertools.combinations(range(len(options)), 2) for a in options[i] for b in options[j]]
    frame = account.loc[account.index.repeat(len(combos))].reset_index(drop=True)
    for k, combo in enumerate(combos):
        for feature, value, _ in combo:
            frame.at[k, feature] = value
    scores = _risk(model, frame)
    costs = np.array([sum(c for *_, c in combo) for combo in combos])
    feasible = scores <= target
    best_cost = float(np.round(costs[feasible], 12).min()) if feasible.any() else np.inf
    return best_cost, float(scores.min())


def test_monotone_model_cost_equals_brute_force_optimum(monotone):
    model, catalog, explainer, solver, X, scores = monotone
    target = catalog.recourse.targets["limit_decrease"]
    risky = np.flatnonzero(scores > target)[:8]
    assert risky.size == 8
    for i in risky:
        account = explainer._checked(X.iloc[[i]])
        recourse = solver.solve(account, "limit_decrease")
        best_cost, best_score = _brute_force(solver, model, account, target)
        if np.isfinite(best_cost):
            assert recourse.status == "found"
            assert round(recourse.suggestions[0].cost, 12) == pytest.approx(best_cost, abs=1e-12)
            for suggestion in recourse.suggestions:
                assert _risk(model, _applied(account, suggestion))[0] <= target
            _check_actions(catalog, account, recourse, solver)
            assert all(c.feature != "age" for s in recourse.suggestions for c in s.changes)
        else:
            assert recourse.status == "infeasible" and not recourse.suggestions
            assert recourse.certificate.best_score == pytest.approx(best_score, abs=1e-12)


def test_monotone_model_infeasible_certificate_is_the_brute_force_best(monotone):
    model, catalog, explainer, solver, X, scores = monotone
    account = explainer._checked(X.iloc[[int(np.argmax(scores))]])
    recourse = solver.solve(account, "limit_decrease", target=0.0005)
    _, best_score = _brute_force(solver, model, account, 0.0005)
    assert recourse.status == "infeasible" and recourse.suggestions == ()
    assert recourse.certificate.best_score == pytest.approx(best_score, abs=1e-12)
    assert recourse.certificate.max_changes == 2


def test_time_only_feature_is_expressed_in_months(monotone):
    model, catalog, explainer, solver, X, scores = monotone
    found = [c for i in np.flatnonzero(scores > 0.3)[:16]
             for s in solver.solve(explainer._checked(X.iloc[[i]]), "limit_decrease").suggestions
             for c in s.changes if c.feature == "tenure_years"]
    assert found
    for change in found:
        assert change.months == int(np.ceil((change.value - change.current) * 12))


def test_work_is_bounded_by_the_budget(monotone):
    from dataclasses import replace

    model, catalog, explainer, solver, X, scores = monotone
    account = explainer._checked(X.iloc[[int(np.argmax(scores))]])
    tight = RecourseSolver(explainer, replace(catalog.recourse, budget=3),
                           kinds={f: s.kind for f, s in catalog.features.items()},
                           orders={f: s.order for f, s in catalog.features.items()})
    recourse = tight.solve(account, "limit_decrease", target=0.0005)
    assert recourse.status == "budget_exhausted" and recourse.evaluated == 3 and recourse.needs_review


def test_model_agnostic_search_is_verified(monotone):
    """A model the trees cannot be read from (a plain callable) is searched over the same values, scored by it."""
    model, catalog, _, _, X, scores = monotone
    explainer = Explainer(lambda frame: model.predict_proba(frame)[:, 1], catalog=catalog, background=X.iloc[:200],
                          random_state=0, link="logit")
    solver = RecourseSolver(explainer, catalog.recourse, kinds={f: s.kind for f, s in catalog.features.items()},
                            orders={f: s.order for f, s in catalog.features.items()})
    for i in np.flatnonzero(scores > 0.3)[:3]:
        account = explainer._checked(X.iloc[[i]])
        recourse = solver.solve(account, "limit_decrease")
        assert recourse.method == "model_search" and not recourse.exact
        for suggestion in recourse.suggestions:
            assert _risk(model, _applied(account, suggestion))[0] <= 0.3


# ------------------------------------------------------------------------------------------ catalog errors


@pytest.mark.parametrize(("action", "message"), [
    ({"age": {"label": "a", "direction": "decrease"}}, "protected group 'age'"),
    ({"utilisation": {"label": "u", "direction": "down"}}, "'direction' must be 'decrease' or 'increase'"),
    ({"utilisation": {"label": "u", "direction": "decrease", "colour": 1}}, "unknown key"),
    ({"channel": {"label": "c", "direction": "safer", "min": 1}}, "'min' is for numbers"),
    ({"utilisation": {"direction": "decrease"}}, "needs a 'label'"),
    ({"savings": {"label": "s", "direction": "decrease", "with_time": True}}, "'with_time' is for months or years"),
    ({"nowhere": {"label": "n", "direction": "decrease"}}, "belongs to no reason group"),
])
def test_catalog_refuses_bad_actions(action, message):
    data = {**TOY_CATALOG, "actions": action}
    with pytest.raises(CatalogError, match=message):
        FeatureCatalog.from_dict(data)


def test_catalog_refuses_targets_for_favourable_kinds():
    data = {**TOY_CATALOG, "recourse": {"targets": {"limit_increase": 0.2}}}
    with pytest.raises(CatalogError, match="not an adverse decision kind"):
        FeatureCatalog.from_dict(data)


def test_recourse_exports_are_pinned():
    import explain.recourse

    assert explain.recourse.__all__ == [
        "ACTION_DIRECTIONS", "ActionSpec", "Certificate", "Change", "Recourse", "RecoursePolicy", "RecourseSolver",
        "find_recourse",
    ]
    assert all(getattr(explain.recourse, name) is not None for name in explain.recourse.__all__)
