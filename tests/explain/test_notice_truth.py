"""True notices, swept over every demo account: 1,000 accounts x 4 decision kinds x 2 locales.

Each property is checked independently of the code that produces it: the direction rules, the feature that
counted most and the advice conditions are recomputed here from the catalog, the background and the
attribution.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from explain import Decision, FeatureMismatchError, demo_data, render_notice
from explain.catalog._catalog import advice_applies
from explain.notices._formatting import format_money
from explain.notices._notices import reason_phrases

LIMITS = {"limit_decrease": (20000, 8000), "limit_increase": (20000, 30000), "account_closure": (20000, 0),
          "increase_declined": (20000, 30000)}


def _side(catalog, background, feature, value) -> int:
    """+1 riskier than the background's typical value by the catalog's declaration, -1 safer, 0 unknown."""
    spec, group = catalog.features[feature], catalog.group_of(feature)
    if spec.order:
        ranks = {c: i for i, c in enumerate(spec.order)}
        median = np.median(background[feature].astype(str).map(ranks))
        return int(np.sign(ranks[str(value)] - median))
    direction = spec.direction or group.direction
    if direction == "none" or spec.kind == "category":
        return 0
    sign = 1 if direction == "higher_is_riskier" else -1
    return int(np.sign(float(value) - np.median(background[feature]))) * sign


def _entry(catalog, reason):
    """Where a reason's advice comes from: the shown feature's own advice, else the group's or policy's."""
    spec = catalog.features.get(reason.feature) if reason.source == "model" else None
    if spec is not None and spec.advice:
        return f"features:{reason.feature}", spec
    return (f"groups:{reason.code}", catalog.groups[reason.code]) if reason.source == "model" else \
        (f"policy:{reason.code}", catalog.policy_reasons[reason.code])


def _fits(catalog, reason) -> bool:
    _, entry = _entry(catalog, reason)
    return bool(entry.advice) and reason.actionable and not reason.counter_intuitive and advice_applies(
        getattr(entry, "advice_when", None), reason.value)


def _advice(catalog, reason, locale):
    prefix, entry = _entry(catalog, reason)
    return catalog.phrase(f"{prefix}:advice", entry.advice, locale=locale) if entry.advice else None


def _advice_lines(text: str, locale: str) -> list[str]:
    heading = "您可以采取的措施" if locale == "zh_CN" else "What you can do"
    if heading not in text:
        return []
    block = text.split(heading + "\n", 1)[1].split("\n\n", 1)[0]
    return [line[2:] for line in block.splitlines() if line.startswith("- ")]


@pytest.fixture(scope="module")
def sweep(bundle):
    X = demo_data()
    explainer = bundle.explainer()
    values = explainer.explain(X).values
    return X, values, {kind: explainer.reasons(X, decision=kind) for kind in LIMITS}


def test_every_reason_is_true_to_its_effect_value_and_advice(bundle, sweep):
    catalog, background = bundle.catalog, bundle.background
    X, values, results = sweep
    flagged = total = wrong_feature = contradicting = bad_advice = closures_with_limit = 0
    for kind, per_account in results.items():
        adverse = Decision(kind).is_adverse
        old, new = LIMITS[kind]
        for row, result in enumerate(per_account):
            if adverse and not result.reasons:
                continue  # the CLI and the API ask for a policy reason here
            for reason in result.reasons:
                total += 1
                group = catalog.groups[reason.code]
                toward = values.loc[row, list(group.features)].to_numpy() * (1 if adverse else -1)
                wrong_feature += reason.feature != group.features[int(np.argmax(toward))]
                side = _side(catalog, background, reason.feature, reason.value)
                against = (adverse and side < 0) or (not adverse and side > 0)
                assert reason.counter_intuitive == against, (kind, row, reason)
                flagged += reason.counter_intuitive
            for locale in ("zh_CN", "en"):
                notice = render_notice(kind, result, locale=locale, catalog=catalog, profile=bundle.profile,
                                       old_limit=old, new_limit=new, account_ref=f"{row:06d}",
                                       notice_date=dt.date(2026, 12, 1))
                weighed_at = notice.text.find("评估还考虑了以下情况" if locale == "zh_CN" else "The assessment also took")
                for reason in result.reasons:
                    if not reason.counter_intuitive:
                        continue
                    # Neutral, in its own list, after the principal ones, and never with advice.
                    shown = reason_phrases(reason, locale=locale, catalog=catalog)["text"]
                    contradicting += not (0 <= weighed_at < notice.text.find(shown, weighed_at))
                # Advice where the decision leaves something to do: a decrease or a declined increase.
                gives_advice = kind in ("limit_decrease", "increase_declined")
                expected = {_advice(catalog, r, locale) for r in result.reasons if gives_advice and _fits(catalog, r)}
                bad_advice += set(_advice_lines(notice.text, locale)) != expected - {None}
                if kind == "account_closure":
                    money = format_money(new, "CNY", locale=locale)
                    closures_with_limit += (money in notice.text or "credit limit" in notice.text
                                            or "信用额度" in notice.text or money in notice.short)
    share = flagged / total
    print(f"\ncounter-intuitive reasons in the demo: {share:.2%} ({flagged} of {total})")
    assert wrong_feature == 0
    assert contradicting == 0
    assert bad_advice == 0
    assert closures_with_limit == 0
    assert share < 0.02


def test_advice_never_contradicts_the_value(bundle):
    """The conditions themselves: advice to keep a positive balance is not given to one who has it."""
    from explain import Reason
    from explain.notices._notices import reason_phrases

    catalog = bundle.catalog
    healthy = Reason("current_account", "model", "adverse", 0.3, "status_of_existing_checking_account",
                     "... >= 200 DM / salary assignments for at least 1 year", "category", None, True)
    overdrawn = Reason("current_account", "model", "adverse", 0.3, "status_of_existing_checking_account",
                       "... < 0 DM", "category", None, True)
    one_loan = Reason("other_borrowing", "model", "adverse", 0.3, "number_of_existing_credits_at_this_bank", 1,
                      "count", 40.0, True)
    three = Reason("other_borrowing", "model", "adverse", 0.3, "number_of_existing_credits_at_this_bank", 3,
                   "count", 95.0, True)
    for locale in ("en", "zh_CN"):
        assert reason_phrases(healthy, locale=locale, catalog=catalog)["advice"] is None
        assert reason_phrases(overdrawn, locale=locale, catalog=catalog)["advice"]
        assert reason_phrases(one_loan, locale=locale, catalog=catalog)["advice"] is None
    assert reason_phrases(three, locale="en", catalog=catalog)["advice"] == "Paying off some of your loans with us will help."
    assert reason_phrases(three, locale="en", catalog=catalog)["text"] == "You have 3 loans with us."


def test_a_counter_intuitive_reason_is_neutral_and_has_no_advice(bundle):
    from explain import Reason
    from explain.notices._notices import reason_phrases

    reason = Reason("repayment_history", "model", "adverse", 0.3, "credit_history",
                    "all credits at this bank paid back duly", "category", None, True, counter_intuitive=True)
    en = reason_phrases(reason, locale="en", catalog=bundle.catalog)
    zh = reason_phrases(reason, locale="zh_CN", catalog=bundle.catalog)
    assert en["text"] == "You have repaid all your loans with us on time." and en["advice"] is None
    assert zh["text"] == "您在我行的贷款均已按时还清。" and zh["advice"] is None
    notice = render_notice("limit_decrease", [reason], locale="en", catalog=bundle.catalog, profile=bundle.profile,
                           old_limit=2, new_limit=1, account_ref="1", notice_date=dt.date(2026, 12, 1))
    assert "The assessment also took these into account:\n- You have repaid all your loans with us on time." in notice.text
    assert "counted against you most" not in notice.text and "What you can do" not in notice.text


def test_an_all_missing_column_is_refused_naming_it(bundle):
    X = demo_data().iloc[:5].copy()
    X["duration_in_month"] = np.nan
    with pytest.raises(FeatureMismatchError, match=r"entirely missing.*'duration_in_month'"):
        bundle.explainer().reasons(X, decision="limit_decrease")
    X = demo_data().iloc[:30].copy()
    X.loc[X.index[:25], "credit_amount"] = np.nan
    with pytest.raises(FeatureMismatchError, match=r"missing far more often than in the background.*'credit_amount'"):
        bundle.explainer().explain(X)


def test_missing_far_beyond_the_background_rate_is_refused():
    from explain.attribution._data_checks import check_missingness

    X = pd.DataFrame({"a": [np.nan] * 15 + [1.0] * 5, "b": range(20)})
    check_missingness(X, {"a": 0.7, "b": 0.0})  # about what the background shows
    with pytest.raises(FeatureMismatchError, match=r"missing far more often than in the background.*'a'.*75% vs 10%"):
        check_missingness(X, {"a": 0.1, "b": 0.0})
