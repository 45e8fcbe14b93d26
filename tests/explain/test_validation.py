"""Bad input gets an error that names the columns and what was expected."""

from __future__ import annotations

import numpy as np
import pytest

from explain import FeatureMismatchError


@pytest.fixture(scope="module")
def explainer(bundle):
    return bundle.explainer()


@pytest.fixture()
def accounts(german):
    X, _ = german
    return X.iloc[:3].copy()


def test_missing_column(explainer, accounts):
    with pytest.raises(FeatureMismatchError, match=r"missing: column\(s\) 'purpose', 'job'") as info:
        explainer.explain(accounts.drop(columns=["purpose", "job"]))
    assert info.value.columns == ("purpose", "job")


def test_unexpected_column(explainer, accounts):
    with pytest.raises(FeatureMismatchError, match=r"unexpected: column\(s\) 'shoe_size'"):
        explainer.explain(accounts.assign(shoe_size=42))


def test_wrong_dtype(explainer, accounts):
    with pytest.raises(FeatureMismatchError, match=r"wrong dtype: column\(s\) 'credit_amount'; expected numbers"):
        explainer.explain(accounts.assign(credit_amount=["lots", "many", "few"]))


def test_unknown_category(explainer, accounts):
    accounts.loc[accounts.index[1], "housing"] = "castle"
    with pytest.raises(FeatureMismatchError, match=r"unknown category: column\(s\) 'housing'.*got housing=\['castle'\]"):
        explainer.explain(accounts)


def test_nan_where_the_model_cannot_take_it(numeric_toy):
    from sklearn.linear_model import LogisticRegression

    from explain import Explainer

    X, y = numeric_toy
    model = LogisticRegression().fit(X, y)
    bad = X.iloc[:4].copy()
    bad.loc[bad.index[2], "f3"] = np.nan
    with pytest.raises(FeatureMismatchError, match=r"missing value \(NaN\) the model cannot take: column\(s\) 'f3'"):
        Explainer(model, background=X.iloc[:50]).explain(bad)


def test_nan_in_a_native_tree_model_is_explained(numeric_toy):
    from sklearn.ensemble import HistGradientBoostingClassifier

    from explain import Explainer

    X, y = numeric_toy
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)
    rows = X.iloc[:4].copy()
    rows.loc[rows.index[0], "f1"] = np.nan
    result = Explainer(model, background=X.iloc[:50]).explain(rows)
    np.testing.assert_allclose(result.base_values + result.values.sum(axis=1), result.margins, atol=1e-9)


def test_empty_frame(explainer, accounts):
    with pytest.raises(FeatureMismatchError, match="empty input; expected at least one row"):
        explainer.explain(accounts.iloc[:0])


def test_json_style_object_numbers_are_accepted(explainer, accounts):
    as_objects = accounts.astype(object)
    result = explainer.explain(as_objects)
    np.testing.assert_allclose(result.margins, explainer.explain(accounts).margins)


def test_errors_are_value_errors_too(explainer, accounts):
    with pytest.raises(ValueError):
        explainer.explain(accounts.drop(columns=["purpose"]))


def test_missing_category_in_the_demo_pipeline_names_the_column(explainer, accounts):
    """The demo's OrdinalEncoder never saw a missing category, so NaN there is refused, not crashed on."""
    accounts.loc[accounts.index[0], "purpose"] = None
    with pytest.raises(FeatureMismatchError, match=r"missing value \(NaN\) the model cannot take: column\(s\) 'purpose'"):
        explainer.explain(accounts)


def test_infinite_value(explainer, accounts):
    with pytest.raises(FeatureMismatchError, match=r"infinite value: column\(s\) 'credit_amount'; expected a finite"):
        explainer.explain(accounts.astype({"credit_amount": float}).assign(credit_amount=[1.0, np.inf, 2.0]))
    as_objects = accounts.astype(object)
    as_objects["duration_in_month"] = [12, float("-inf"), 6]
    with pytest.raises(FeatureMismatchError, match=r"infinite value: column\(s\) 'duration_in_month'"):
        explainer.explain(as_objects)


def test_true_false_is_not_a_number(explainer, accounts):
    with pytest.raises(FeatureMismatchError, match=r"wrong dtype: column\(s\) 'duration_in_month'"):
        explainer.explain(accounts.assign(duration_in_month=[True, False, True]))


def test_pandas_category_columns_are_taken_where_the_pipeline_takes_text(explainer, german):
    """A lender's frame often keeps text columns as pandas 'category': same values, same explanation."""
    X, _ = german
    rows = X.iloc[:5]
    import pandas as pd

    as_category = rows.astype({c: "category" for c in rows.columns if not pd.api.types.is_numeric_dtype(rows[c])})
    assert sum(isinstance(t, pd.CategoricalDtype) for t in as_category.dtypes) >= 2
    np.testing.assert_array_equal(explainer.explain(as_category).values.to_numpy(),
                                  explainer.explain(rows).values.to_numpy())


def test_one_row_and_batch_checks_agree(explainer, accounts):
    """The quick check for small inputs and the full check accept and refuse the same things."""
    one = accounts.iloc[:1]
    assert explainer._adapter._validate_fast(one) is not None  # the quick path is really taken
    np.testing.assert_array_equal(explainer.explain(one).values.to_numpy(),
                                  explainer.explain(accounts).values.to_numpy()[:1])
    bad = one.copy()
    bad.loc[bad.index[0], "housing"] = "castle"
    assert explainer._adapter._validate_fast(bad) is None
    with pytest.raises(FeatureMismatchError, match="housing"):
        explainer.explain(bad)
    with pytest.raises(FeatureMismatchError, match="credit_amount"):
        explainer.explain(one.assign(credit_amount=[np.inf]))


def test_xgboost_categories_without_a_reference_are_a_clear_error():
    """XGBoost keeps its categories where we cannot read them: the background's category columns supply
    them, and without one the error says so instead of a library exception."""
    import pandas as pd

    from explain import Explainer, ModelNotSupportedError

    xgboost = pytest.importorskip("xgboost")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"grade": pd.Categorical(rng.choice(["a", "b", "c"], 200)), "x": rng.normal(size=200)})
    y = ((X.grade == "b") ^ (X.x > 0)).astype(int)
    model = xgboost.XGBClassifier(n_estimators=5, enable_categorical=True, tree_method="hist", n_jobs=1).fit(X, y)
    with pytest.raises(ModelNotSupportedError, match=r"'grade'.*pandas 'category' columns"):
        Explainer(model, tree_mode="path_dependent")
    result = Explainer(model, background=X.iloc[:30]).explain(X.iloc[:3])
    assert result.engine == "numba"
