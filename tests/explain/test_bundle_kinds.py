"""Every supported model kind through a bundle: built, saved, loaded, served and batched, and the same bit for
bit as the explainer built in memory from the same model, catalog and background.

A bundle keeps its background as CSV; without the dtypes recorded beside it an XGBoost model with categorical
features could not be explained once bundled, while the in-memory explainer could. Small models, few rows.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from explain import Explainer, FeatureCatalog, ModelBundle, save_bundle
from lender_support import make_lender

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

NUMERIC = ["月收入", "额度使用率", "账龄月数"]
CATEGORICAL = "城市等级"
ROWS = 6  # accounts served and batched per kind


def _data(categorical: bool) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(20261205)
    n = 400
    X = pd.DataFrame({
        "月收入": rng.normal(9000, 2500, n).round(2),
        "额度使用率": rng.uniform(0, 1, n),
        "账龄月数": rng.integers(1, 120, n).astype(float),
    })
    logit = -0.0003 * (X["月收入"] - 9000) + 2.5 * (X["额度使用率"] - 0.5) - 0.01 * (X["账龄月数"] - 60)
    if categorical:
        city = rng.choice(["一线", "二线", "三线", "县城"], n)
        X[CATEGORICAL] = pd.Categorical(city, categories=["一线", "二线", "三线", "县城"])
        logit = logit + pd.Series(city).map({"一线": -0.6, "二线": 0.0, "三线": 0.4, "县城": 0.8}).to_numpy()
    y = (logit + rng.logistic(size=n) > 0).astype(int).to_numpy()
    return X, y


def risk_callable(X: pd.DataFrame) -> np.ndarray:
    """A model known only as a function: a probability of default per row."""
    z = -0.0003 * (X["月收入"] - 9000) + 2.5 * (X["额度使用率"] - 0.5) - 0.01 * (X["账龄月数"] - 60)
    return 1.0 / (1.0 + np.exp(-z.to_numpy(dtype=float)))


def _model(kind: str):  # noqa: ANN202 - any model
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = kind.endswith("categorical") or kind in ("hgb", "logistic_pipeline")
    X, y = _data(categorical)
    if kind == "hgb":
        model = HistGradientBoostingClassifier(max_iter=20, max_depth=3, random_state=0).fit(X, y)
    elif kind == "gb":
        model = GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0).fit(X, y)
    elif kind == "rf":
        model = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0, n_jobs=1).fit(X, y)
    elif kind.startswith("xgboost"):
        xgboost = pytest.importorskip("xgboost")
        model = xgboost.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1, enable_categorical=categorical,
                                      tree_method="hist").fit(X, y)
    elif kind.startswith("lightgbm"):
        lightgbm = pytest.importorskip("lightgbm")
        model = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1, n_jobs=1,
                                        min_child_samples=10).fit(X, y)
    elif kind == "logistic_pipeline":
        X = X.astype({CATEGORICAL: object})
        encode = ColumnTransformer([("city", OneHotEncoder(handle_unknown="error"), [CATEGORICAL]),
                                    ("numbers", StandardScaler(), NUMERIC)])
        model = Pipeline([("encode", encode), ("model", LogisticRegression(max_iter=500))]).fit(X, y)
    else:
        model = risk_callable
    return model, X


KINDS = ["hgb", "gb", "rf", "xgboost_numeric", "xgboost_categorical", "lightgbm_numeric", "lightgbm_categorical",
         "logistic_pipeline", "callable"]


def _catalog(columns: list[str]) -> str:
    groups = {
        "income": ("Income", "月收入", "higher_is_safer", "money"),
        "utilisation": ("Credit used", "额度使用率", "higher_is_riskier", "percent"),
        "tenure": ("Time with us", "账龄月数", "higher_is_safer", "months"),
        "city": ("Where you live", CATEGORICAL, "none", "category"),
    }
    parts = ["[catalog]\nname = \"kinds\"\nversion = \"1\"\n"]
    for code, (label, feature, direction, _) in groups.items():
        if feature in columns:
            parts.append(f'[groups.{code}]\nlabel = "{label}"\nfeatures = ["{feature}"]\ndirection = "{direction}"\n'
                         f'adverse = "Your {label.lower()} counted against the increase."\n'
                         f'favourable = "Your {label.lower()} counted in your favour."\n')
    for code, (_, feature, _, kind) in groups.items():
        if feature in columns:
            extra = ""
            if kind == "category":
                extra = "categories = { " + ", ".join(f'"{c}" = "city tier {c}"' for c in ("一线", "二线", "三线", "县城")) + " }\n"
            parts.append(f'[features."{feature}"]\nkind = "{kind}"\n{extra}')
    parts.append('[policy.portfolio]\nlabel = "Our lending policy"\nadverse = "We are lending less to everyone."\n'
                 'favourable = "We are lending more to everyone."\n')
    return "\n".join(parts)


@pytest.fixture(scope="module")
def lender(tmp_path_factory) -> dict[bool, object]:
    folder = tmp_path_factory.mktemp("kinds-lender")
    X_num, _ = _data(False)
    X_cat, _ = _data(True)
    return {False: make_lender(folder / "numeric", _catalog(list(X_num.columns))),
            True: make_lender(folder / "categorical", _catalog(list(X_cat.columns)))}


def _features_json(row: pd.Series) -> dict:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}


@pytest.mark.parametrize("kind", KINDS)
def test_every_model_kind_explains_the_same_from_its_bundle(kind, lender, tmp_path):
    from api.main import create_app
    from api.settings import Settings
    from explain.batch import read_output, run_batch

    model, X = _model(kind)
    categorical = CATEGORICAL in X.columns
    folder = lender[categorical]
    background = X.iloc[:40].reset_index(drop=True)
    callable_model = kind == "callable"
    bundle = save_bundle(tmp_path / "bundle", model=model, lender=folder, background=background, name=f"k-{kind}",
                         version="1", model_format="pickle" if callable_model else None,
                         link="logit" if callable_model else None)
    loaded = ModelBundle.load(bundle.path, trusted=callable_model)
    pd.testing.assert_frame_equal(loaded.background, background)

    catalog = FeatureCatalog.from_toml(folder / "catalog.toml")
    memory = Explainer(model, catalog=catalog, background=background, random_state=0,
                       link="logit" if callable_model else "identity")
    accounts = X.iloc[100:100 + ROWS].reset_index(drop=True)
    expected = memory.reasons(accounts, decision="limit_decrease", policy_reasons=("portfolio",))
    got = loaded.explainer().reasons(accounts, decision="limit_decrease", policy_reasons=("portfolio",))
    assert [r.to_dict() for r in got] == [r.to_dict() for r in expected]

    # Served: the API's reasons and score are the in-memory explainer's, to the last bit. One account per
    # request, so compared with one account at a time (a seeded permutation explainer draws per call).
    alone = [memory.reasons(accounts.iloc[[i]], decision="limit_decrease", policy_reasons=("portfolio",))[0]
             for i in range(2)]
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'svc.db'}", bundles=[str(bundle.path)],
                        trusted_bundles=callable_model, auth_cache_seconds=0, warm_up=False)
    app = create_app(settings)
    with TestClient(app) as client:
        key = app.state.store.create_api_key("issuer", name="kinds")[0]
        for i in range(2):
            body = {"account_ref": f"A{i}", "bundle": bundle.name, "features": _features_json(accounts.iloc[i]),
                    "decision": "limit_decrease", "old_limit": 20000, "new_limit": 12000,
                    "policy_reasons": ["portfolio"], "notice_date": "2026-12-01", "locales": ["zh_CN", "en"]}
            r = client.post("/v1/decisions", json=body, headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 201, r.text
            served = r.json()
            assert served["score"] == alone[i].score
            assert served["group_contributions"] == alone[i].group_contributions
            assert [x["code"] for x in served["reasons"]] == list(alone[i].codes)

    # Batched: the same scores and contributions, exactly.
    table = accounts.copy()
    table.insert(0, "account", [f"B{i}" for i in range(ROWS)])
    table.to_csv(tmp_path / "accounts.csv", index=False, float_format="%.17g")
    pd.DataFrame({"account": table["account"], "decision": "limit_decrease", "old_limit": 20000.0,
                  "new_limit": 12000.0, "policy_reasons": "portfolio"}).to_csv(tmp_path / "decisions.csv", index=False)
    summary = run_batch(bundle=str(bundle.path), input=tmp_path / "accounts.csv", decisions=tmp_path / "decisions.csv",
                        out=tmp_path / "notices.parquet", locales=("en",), trusted=callable_model, progress=False,
                        notice_date=dt.date(2026, 12, 1))
    assert summary.explained == ROWS
    frame = read_output(tmp_path / "notices.parquet").set_index("account")
    for i in range(ROWS):
        row = frame.loc[f"B{i}"]
        assert row["score"] == expected[i].score
        assert list(row["reason_codes"]) == list(expected[i].codes)
        contributions = [np.nan if r.contribution is None else r.contribution for r in expected[i].reasons]
        np.testing.assert_array_equal(np.asarray(row["reason_contributions"], dtype=float), contributions)
    json.dumps(loaded.describe())
