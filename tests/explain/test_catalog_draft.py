"""A catalog draft a lender can trust: value kinds from Chinese and English names checked against the data,
directions from every model file a bundle takes (XGBoost JSON/UBJ, LightGBM text, skops), and ``catalog check``
warning on a kind the data contradicts."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from explain.catalog._catalog import FeatureCatalog
from explain.catalog._catalog_check import check_catalog
from explain.catalog._catalog_draft import draft_catalog, kind_from_name


def _lender_frame(n: int = 600) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(17)
    X = pd.DataFrame({
        "月收入": rng.normal(9000, 2500, n).round(2),
        "额度使用率": rng.uniform(0, 1, n).round(4),
        "近12个月逾期次数": rng.poisson(0.7, n),
        "账龄月数": rng.integers(1, 120, n),
        "城市等级": rng.choice(["一线", "二线", "三线"], n),
        "申请渠道": rng.choice(["app", "门店", "合作方"], n),
        "近3个月查询次数": rng.poisson(1.5, n),
        "年龄": rng.integers(20, 65, n),
        "性别": rng.choice(["男", "女"], n),
    })
    logit = (-0.0004 * (X["月收入"] - 9000) + 3 * (X["额度使用率"] - 0.5) + 0.8 * X["近12个月逾期次数"]
             - 0.015 * (X["账龄月数"] - 60) + 0.3 * X["近3个月查询次数"])
    return X, (logit + rng.logistic(size=n) > 0.5).astype(int).to_numpy()


EXPECTED_KINDS = {"月收入": "money", "额度使用率": "percent", "近12个月逾期次数": "count", "账龄月数": "months",
                  "城市等级": "category", "申请渠道": "category", "近3个月查询次数": "count", "年龄": "years",
                  "性别": "category"}
EXPECTED_DIRECTIONS = {"月收入": "higher_is_safer", "额度使用率": "higher_is_riskier",
                       "近12个月逾期次数": "higher_is_riskier", "账龄月数": "higher_is_safer"}


def test_kinds_from_chinese_names_are_checked_against_the_data():
    X, _ = _lender_frame()
    draft = draft_catalog(X)
    assert {f: s.kind for f, s in draft.features.items()} == EXPECTED_KINDS
    assert draft.features["额度使用率"].scale == "fraction"
    assert draft.groups["年龄"].protected and draft.groups["性别"].protected


@pytest.mark.parametrize(("name", "kind"), [
    ("monthly_income", "money"), ("utilization_rate", "percent"), ("num_inquiries_3m", "count"),
    ("months_on_book", "months"), ("账户余额", "money"), ("逾期笔数", "count"), ("负债收入占比", "percent"),
    ("贷款期数", "months"), ("工作年限", "years"), ("page_views", None)])
def test_kind_hints_from_names(name, kind):
    assert kind_from_name(name) == kind


def test_a_name_the_data_contradicts_is_not_believed():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"账龄月数": rng.uniform(1000, 30000, 50).round(), "使用率": rng.uniform(0, 100, 50),
                      "逾期次数": rng.normal(0, 1, 50)})
    kinds = {f: (s.kind, s.scale) for f, s in draft_catalog(X).features.items()}
    assert kinds["账龄月数"][0] == "number"  # 28,670 "months" are not months
    assert kinds["使用率"] == ("percent", "percent")  # a percent over 1 is written 0-100
    assert kinds["逾期次数"][0] == "number"  # negative, fractional: not a count


def _save_models(X: pd.DataFrame, y: np.ndarray, folder) -> dict[str, object]:
    xgboost = pytest.importorskip("xgboost")
    lightgbm = pytest.importorskip("lightgbm")
    typed = X.astype({"城市等级": "category", "申请渠道": "category", "性别": "category"})
    xgb = xgboost.XGBClassifier(n_estimators=30, max_depth=3, n_jobs=1, enable_categorical=True,
                                tree_method="hist").fit(typed, y)
    lgbm = lightgbm.LGBMClassifier(n_estimators=30, num_leaves=8, verbose=-1, n_jobs=1).fit(typed, y)
    paths = {"xgboost-json": folder / "model.json", "xgboost-ubj": folder / "model.ubj",
             "lightgbm-text": folder / "model.txt"}
    xgb.save_model(paths["xgboost-json"])
    xgb.save_model(paths["xgboost-ubj"])
    lgbm.booster_.save_model(paths["lightgbm-text"])
    return paths


def test_catalog_init_infers_directions_from_xgboost_and_lightgbm_files(tmp_path):
    from explain.cli import app

    X, y = _lender_frame()
    X.to_csv(tmp_path / "accounts.csv", index=False)
    for fmt, model in _save_models(X, y, tmp_path).items():
        out = tmp_path / f"{fmt}.toml"
        result = CliRunner().invoke(app, ["catalog", "init", "--data", str(tmp_path / "accounts.csv"),
                                          "--model", str(model), "-o", str(out)])
        assert result.exit_code == 0, (fmt, result.output)
        data = tomllib.loads(out.read_text("utf-8"))
        directions = {code: data["groups"][code]["direction"] for code in EXPECTED_DIRECTIONS}
        assert directions == EXPECTED_DIRECTIONS, fmt
        assert {f: t["kind"] for f, t in data["features"].items()} == EXPECTED_KINDS


def test_catalog_init_says_why_a_model_cannot_score_the_data(tmp_path):
    from explain.cli import app

    X, y = _lender_frame()
    paths = _save_models(X, y, tmp_path)
    X.drop(columns=["月收入"]).to_csv(tmp_path / "fewer.csv", index=False)
    result = CliRunner().invoke(app, ["catalog", "init", "--data", str(tmp_path / "fewer.csv"),
                                      "--model", str(paths["lightgbm-text"])])
    assert result.exit_code == 2
    assert "cannot score --data" in " ".join(result.output.split()) and "月收入" in result.output


def test_check_warns_on_a_kind_the_data_contradicts():
    X, _ = _lender_frame(80)
    X["账龄月数"] = X["账龄月数"] * 300  # 300 to 36,000: not months
    catalog = FeatureCatalog.from_dict({"groups": {
        "tenure": {"label": "Time with us", "features": ["账龄月数"], "adverse": "a", "favourable": "f"},
        "income": {"label": "Income", "features": ["月收入"], "adverse": "a", "favourable": "f"},
        "late": {"label": "Late", "features": ["近12个月逾期次数"], "adverse": "a", "favourable": "f"}},
        "features": {"账龄月数": {"kind": "months"}, "月收入": {"kind": "months"}, "近12个月逾期次数": {"kind": "count"}}})
    warnings = check_catalog(catalog, background=X).warnings
    assert any(w.startswith("feature '账龄月数': declared kind 'months', but the data says otherwise") for w in warnings)
    assert any(w.startswith("feature '月收入': declared kind 'months'") for w in warnings)
    assert not any("近12个月逾期次数" in w for w in warnings)
