"""Reason selection: direction, protected groups, materiality, ties, policy reasons first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from explain import Decision, Explainer, FeatureCatalog, UnknownDecisionError, UnknownReasonError
from explain.reasons._reasons import select_reasons


def _catalog(protected: set[str]) -> FeatureCatalog:
    groups = {
        code: {"label": code.title(), "features": [code], "adverse": "a", "favourable": "f", "protected": code in protected}
        for code in ("age", "utilisation", "history", "tenure")
    }
    return FeatureCatalog.from_dict({"groups": groups, "policy": {
        "overdue_repayment": {"label": "Overdue", "adverse": "A repayment is overdue."},
        "portfolio_tightening": {"label": "Policy", "adverse": "We changed our rules."},
    }})


@pytest.fixture(scope="module")
def age_dominated():
    """A model whose biggest factor is a protected attribute (age), on synthetic accounts."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame({
        "age": rng.uniform(18, 80, 2000),
        "utilisation": rng.uniform(0, 1, 2000),
        "history": rng.integers(0, 5, 2000).astype(float),
        "tenure": rng.uniform(0, 20, 2000),
    })
    logit = -0.12 * (X.age - 45) + 1.5 * (X.utilisation - 0.5) + 0.4 * (X.history - 2) - 0.05 * (X.tenure - 10)
    y = (rng.uniform(size=2000) < 1 / (1 + np.exp(-logit))).astype(int)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    explainer = Explainer(model, catalog=_catalog({"age"}), background=X.iloc[:300])
    return explainer, X


def test_dominant_protected_group_is_excluded_and_recorded(age_dominated):
    explainer, _ = age_dominated
    young_risky = pd.DataFrame({"age": [19.0], "utilisation": [0.95], "history": [4.0], "tenure": [2.0]})
    [result] = explainer.reasons(young_risky, decision="account_closure")
    groups = result.group_contributions
    assert max(groups, key=lambda g: groups[g]) == "age"  # the largest push toward risk is protected
    assert "age" not in result.codes
    # The next groups still give reasons, largest push first.
    expected = sorted((g for g in groups if g != "age" and groups[g] > 0), key=lambda g: -groups[g])
    assert {"utilisation", "history"} <= set(result.codes)
    assert list(result.codes) == expected
    [excluded] = result.excluded
    assert excluded.code == "age" and excluded.would_rank == 1
    assert excluded.contribution == pytest.approx(groups["age"])


def test_direction_follows_the_decision(age_dominated):
    explainer, _ = age_dominated
    account = pd.DataFrame({"age": [50.0], "utilisation": [0.9], "history": [0.0], "tenure": [15.0]})
    [down] = explainer.reasons(account, decision=Decision.LIMIT_DECREASE)
    [up] = explainer.reasons(account, decision=Decision.LIMIT_INCREASE)
    assert all(r.contribution > 0 and r.effect == "adverse" for r in down.reasons)
    assert all(r.contribution < 0 and r.effect == "favourable" for r in up.reasons)
    assert "utilisation" in down.codes and "history" in up.codes


def test_credit_score_semantics_flip_the_sign():
    contributions = pd.Series({"a": 0.8, "b": -0.5, "c": 0.2})
    risk, _ = select_reasons(contributions, decision=Decision.LIMIT_DECREASE, higher_is="risk", protected=(),
                             top=4, materiality=0.0)
    better, _ = select_reasons(contributions, decision=Decision.LIMIT_DECREASE, higher_is="better", protected=(),
                               top=4, materiality=0.0)
    assert risk == ["a", "c"] and better == ["b"]


def test_top_materiality_and_ties_are_deterministic():
    # b and d tie exactly; catalog order (b before d) decides, whatever the input order of equal values.
    contributions = pd.Series({"a": 0.3, "b": 0.5, "c": 0.001, "d": 0.5, "e": 0.2})
    chosen, _ = select_reasons(contributions, decision=Decision.ACCOUNT_CLOSURE, higher_is="risk", protected=(),
                               top=3, materiality=0.01)
    assert chosen == ["b", "d", "a"]
    chosen, _ = select_reasons(contributions, decision=Decision.ACCOUNT_CLOSURE, higher_is="risk", protected=(),
                               top=5, materiality=0.01)
    assert chosen == ["b", "d", "a", "e"]  # c is below 1% of the total: not material
    for _ in range(20):
        again, _ = select_reasons(contributions, decision=Decision.ACCOUNT_CLOSURE, higher_is="risk", protected=(),
                                  top=5, materiality=0.01)
        assert again == chosen


def test_policy_reasons_come_first_and_share_the_cap(age_dominated):
    explainer, _ = age_dominated
    account = pd.DataFrame({"age": [30.0], "utilisation": [0.99], "history": [4.0], "tenure": [0.5]})
    [result] = explainer.reasons(account, decision="limit_decrease", top=3,
                                 policy_reasons=["overdue_repayment", "portfolio_tightening"])
    assert result.codes[:2] == ("overdue_repayment", "portfolio_tightening")
    assert len(result.reasons) == 3
    assert result.reasons[0].source == "policy" and result.reasons[0].contribution is None
    assert result.reasons[2].source == "model"


def test_reason_items_carry_value_and_percentile(bundle, german):
    X, _ = german
    results = bundle.explainer().reasons(X.iloc[:40], decision="limit_decrease")
    assert all(len(r.reasons) <= 4 for r in results)
    reason = next(r for res in results for r in res.reasons if r.code == "loan_term")
    assert reason.feature == "duration_in_month" and reason.value_kind == "months"
    assert isinstance(reason.value, int)
    background = bundle.background["duration_in_month"]
    assert reason.percentile == pytest.approx(round(100 * (background <= reason.value).mean(), 1))
    assert reason.share is None
    # A category has no order, so no percentile: its standing is the share of the background that shares it.
    category = next(r for res in results for r in res.reasons if r.value_kind == "category")
    assert category.percentile is None
    shared = (bundle.background[category.feature] == category.value).mean()
    assert category.share == pytest.approx(round(100 * shared, 1))
    protected = {c for c, g in bundle.catalog.groups.items() if g.protected}
    assert not protected & {code for res in results for code in res.codes}
    round_trip = results[0].to_dict()
    assert round_trip["decision"] == "limit_decrease" and "group_contributions" in round_trip


def test_bad_decision_top_and_policy_codes(age_dominated):
    explainer, X = age_dominated
    with pytest.raises(UnknownDecisionError, match="'decision' must be one of 'limit_increase'.*Got 'raise'"):
        explainer.reasons(X.iloc[:1], decision="raise")
    with pytest.raises(ValueError, match="'top' must be an integer from 1 to 5. Got 6"):  # InvalidInputError
        explainer.reasons(X.iloc[:1], decision="limit_decrease", top=6)
    with pytest.raises(UnknownReasonError, match="Unknown policy reason 'late'; expected one of 'overdue_repayment'"):
        explainer.reasons(X.iloc[:1], decision="limit_decrease", policy_reasons=["late"])


def test_same_inputs_same_reasons(bundle, german):
    X, _ = german
    first = [r.to_json() for r in bundle.explainer().reasons(X.iloc[:25], decision="account_closure")]
    second = [r.to_json() for r in bundle.explainer().reasons(X.iloc[:25], decision="account_closure")]
    assert first == second


def test_policy_reasons_beyond_top_or_without_wording_are_refused(age_dominated):
    from explain import InvalidInputError

    explainer, X = age_dominated
    with pytest.raises(InvalidInputError, match=r"The 'policy_reasons' must be at most 1 codes"):
        explainer.reasons(X.iloc[:1], decision="limit_decrease", top=1,
                          policy_reasons=["overdue_repayment", "portfolio_tightening"])
    # "A repayment is overdue" cannot explain a limit increase: the catalog has no favourable wording for it.
    with pytest.raises(InvalidInputError, match=r"codes that can explain a limit_increase.*\['overdue_repayment'\]"):
        explainer.reasons(X.iloc[:1], decision="limit_increase", policy_reasons=["overdue_repayment"])
