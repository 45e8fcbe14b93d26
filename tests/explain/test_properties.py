"""Property tests (hypothesis) on the library: random accounts within the catalog's types, random junk.

For any account the model can take: attribution is additive, protected groups are never reasons, and
every notice renders in both languages without a column name in it. For junk in any one column (wrong
type, NaN, infinities, huge numbers, empty or unknown text, unicode) the explanation either succeeds
additively or fails with :class:`FeatureMismatchError` naming that column. Examples are drawn
deterministically (``derandomize``) and few, so the suite stays short.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import onethread
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explain import Decision, FeatureMismatchError, render_notice

PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
LOCALES = ("zh_CN", "en")
LIMITS = {  # (old, new) that fit each decision kind
    Decision.LIMIT_DECREASE: (20000, 8000),
    Decision.ACCOUNT_CLOSURE: (20000, 0),
    Decision.LIMIT_INCREASE: (20000, 30000),
    Decision.INCREASE_DECLINED: (20000, 30000),
}


single_thread = pytest.fixture(scope="module", autouse=True)(onethread.one_thread)


@pytest.fixture(scope="module")
def domain(bundle, german):
    """Per column: the categories seen in the data, or the numeric range (stretched a little past it)."""
    X, _ = german
    columns = {}
    for column in bundle.background.columns:
        if pd.api.types.is_numeric_dtype(X[column]):
            lo, hi = int(X[column].min()), int(X[column].max())
            columns[column] = st.integers(min_value=max(0, lo - 2), max_value=hi + hi // 2)
        else:
            columns[column] = st.sampled_from(sorted(X[column].dropna().unique().tolist()))
    return columns


def _accounts(domain, rows: int = 3):
    row = st.fixed_dictionaries(domain)
    return st.lists(row, min_size=1, max_size=rows).map(pd.DataFrame)


def _frame(bundle, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    return frame[list(bundle.background.columns)]


@given(data=st.data())
@PROPERTY_SETTINGS
def test_attribution_is_additive_for_any_account(bundle, domain, data) -> None:
    frame = data.draw(_accounts(domain))[list(bundle.background.columns)]
    attribution = bundle.explainer().explain(frame)
    total = np.asarray(attribution.base_values) + attribution.values.sum(axis=1).to_numpy()
    assert np.allclose(total, np.asarray(attribution.margins), rtol=0, atol=1e-6)
    grouped = attribution.by_group()
    assert np.allclose(np.asarray(attribution.base_values) + grouped.sum(axis=1).to_numpy(),
                       np.asarray(attribution.margins), rtol=0, atol=1e-6)


@given(data=st.data(), decision=st.sampled_from(list(LIMITS)), policy=st.sampled_from([(), ("overdue_repayment",)]))
@PROPERTY_SETTINGS
def test_reasons_never_protected_and_every_notice_renders_without_a_column_name(bundle, domain, data, decision,
                                                                               policy) -> None:
    frame = data.draw(_accounts(domain, rows=1))[list(bundle.background.columns)]
    protected = {code for code, group in bundle.catalog.groups.items() if group.protected}
    [result] = bundle.explainer().reasons(frame, decision=decision,
                                          policy_reasons=policy if decision != Decision.LIMIT_INCREASE else ())
    assert not protected & set(result.codes)
    assert {e.code for e in result.excluded} <= protected
    if not result.reasons:
        return  # nothing to tell the customer: the notice refuses to be written (tested in test_notices)
    old, new = LIMITS[decision]
    # Column names that are identifiers (plain words such as "job" or "housing" may well be in a sentence).
    names = [c for c in bundle.background.columns if "_" in c] + ["SHAP", "shap", "log-odds", "margin"]
    for locale in LOCALES:
        for channel in ("letter", "short"):
            notice = render_notice(decision, result, locale=locale, channel=channel, catalog=bundle.catalog, profile=bundle.profile,
                                   old_limit=old, new_limit=new, account_ref="6222-0001",
                                   notice_date=dt.date(2026, 12, 1))
            for part in (notice.subject, notice.text, notice.html, notice.short):
                assert part.strip()
                assert not [n for n in names if n in part], (locale, part)


JUNK = st.one_of(
    st.just(float("nan")), st.just(float("inf")), st.just(-float("inf")), st.just(1e308), st.just(-1e308),
    st.just(""), st.just("   "), st.text(min_size=1, max_size=12), st.just("未知类别"), st.just(True),
    st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(), max_size=2), st.just(None),
)


@given(data=st.data(), junk=JUNK)
@PROPERTY_SETTINGS
def test_junk_in_a_column_is_explained_or_refused_naming_that_column(bundle, domain, data, junk) -> None:
    row = data.draw(st.fixed_dictionaries(domain))
    column = data.draw(st.sampled_from(list(bundle.background.columns)))
    row[column] = junk
    frame = pd.DataFrame([row])[list(bundle.background.columns)]
    try:
        attribution = bundle.explainer().explain(frame)
    except FeatureMismatchError as exc:
        assert column in exc.columns, (column, junk, str(exc))
        assert column in str(exc)
        return
    # accepted (a value the model can take, e.g. a missing number): then it must still be additive
    total = float(np.asarray(attribution.base_values)[0] + attribution.values.sum(axis=1).iloc[0])
    assert math.isclose(total, float(np.asarray(attribution.margins)[0]), abs_tol=1e-6)
