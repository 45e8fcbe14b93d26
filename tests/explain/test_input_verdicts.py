"""One verdict per input: the same account gets the same answer whatever the decision, in the API, the CLI
and batch, because every input is checked against its declared range before any reason is chosen.

A lender's own model (Chinese column names, HistGradientBoosting, which takes missing values itself): a
percent sent as 92 instead of 0.92, a negative count, a missing count whose phrase prints it, and a missing
income whose phrases never print it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from explain import CatalogError, FeatureCatalog, FeatureMismatchError, save_bundle
from lender_support import make_lender

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

CATALOG = """\
[catalog]
name = "verdicts"
version = "1"

[groups.income]
label = "Income"
features = ["月收入"]
direction = "higher_is_safer"
adverse = "Your income is low compared with the credit you use."
favourable = "Your income supports the credit you use."

[groups.utilisation]
label = "Credit used"
features = ["额度使用率"]
direction = "higher_is_riskier"
adverse = "You have used {value} of your credit limit."
favourable = "You have used only {value} of your credit limit."

[groups.late]
label = "Late payments"
features = ["近12个月逾期次数"]
direction = "higher_is_riskier"
adverse = "You were late {value} in the last 12 months."
favourable = "You were late {value} in the last 12 months."

[groups.tenure]
label = "Time with us"
features = ["账龄月数"]
direction = "higher_is_safer"
adverse = "Your account is {value} old."
favourable = "Your account is {value} old."

[features."月收入"]
kind = "money"

[features."额度使用率"]
kind = "percent"

[features."近12个月逾期次数"]
kind = "count"

[features."账龄月数"]
kind = "months"
max = 600

[policy.portfolio]
label = "Our lending policy"
adverse = "We are lending less to everyone this quarter."
favourable = "We are lending more to everyone this quarter."
"""

KINDS = {"limit_decrease": 12000, "limit_increase": 30000, "account_closure": 0, "increase_declined": 30000}
GOOD = {"月收入": 8200.0, "额度使用率": 0.92, "近12个月逾期次数": 2, "账龄月数": 30}
BAD = {  # (field, value, the range or rule the message must name)
    "percent as 92": ("额度使用率", 92, "额度使用率 from 0 to 1 (a percent written as a fraction"),
    "negative count": ("近12个月逾期次数", -3, "近12个月逾期次数 0 or more"),
    "missing count": ("近12个月逾期次数", None, "missing value the catalog does not accept"),
    "months above the catalog's max": ("账龄月数", 28670, "账龄月数 from 0 to 600"),
}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from sklearn.ensemble import HistGradientBoostingClassifier

    folder = tmp_path_factory.mktemp("verdicts")
    rng = np.random.default_rng(5)
    n = 400
    X = pd.DataFrame({"月收入": rng.normal(9000, 2500, n).round(2), "额度使用率": rng.uniform(0, 1, n),
                      "近12个月逾期次数": rng.poisson(0.8, n).astype(float), "账龄月数": rng.integers(1, 120, n).astype(float)})
    y = (2 * X["额度使用率"] + 0.6 * X["近12个月逾期次数"] - X["月收入"] / 9000 + rng.logistic(size=n) > 1).astype(int)
    model = HistGradientBoostingClassifier(max_iter=20, max_depth=3, random_state=0).fit(X, y)
    # Short Chinese stand-ins (placeholders kept), so every kind's short message fits one segment.
    lender = make_lender(folder / "lender", CATALOG,
                         zh=lambda msgid: "因素" + "".join(re.findall(r"\{[^}]*\}", msgid)))
    return save_bundle(folder / "bundle", model=model, lender=lender, background=X.iloc[:60], name="verdicts",
                       version="1")


@pytest.fixture(scope="module")
def client(bundle, tmp_path_factory):
    from api.main import create_app
    from api.settings import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('db') / 'v.db'}", bundles=[str(bundle.path)],
                        auth_cache_seconds=0, warm_up=False)
    app = create_app(settings)
    with TestClient(app) as client:
        key = app.state.store.create_api_key("issuer", name="verdicts")[0]
        client.headers["Authorization"] = f"Bearer {key}"
        yield client


def _post(client, features: dict, kind: str):
    return client.post("/v1/decisions", json={
        "account_ref": "V1", "bundle": "verdicts", "features": features, "decision": kind, "old_limit": 20000,
        "new_limit": KINDS[kind], "policy_reasons": ["portfolio"], "notice_date": "2026-12-01"})


@pytest.mark.parametrize("case", list(BAD))
def test_the_same_bad_input_is_refused_for_every_decision_kind(client, case):
    field, value, named = BAD[case]
    for kind in KINDS:
        r = _post(client, {**GOOD, field: value}, kind)
        assert r.status_code == 422, (kind, r.text)
        body = r.json()
        assert f"features.{field}" in [e["field"] for e in body["errors"]], (kind, body)
        assert named in body["detail"], (kind, body["detail"])


def test_a_missing_value_no_phrase_prints_is_accepted_for_every_kind(client):
    for kind in KINDS:
        r = _post(client, {**GOOD, "月收入": None}, kind)
        assert r.status_code == 201, (kind, r.text)


def test_the_cli_refuses_a_percent_out_of_range_naming_it(bundle, tmp_path):
    from explain.cli import app

    account = tmp_path / "account.json"
    account.write_text(json.dumps({**GOOD, "额度使用率": 92}, ensure_ascii=False), encoding="utf-8")
    for kind in ("limit_decrease", "limit_increase"):
        result = CliRunner().invoke(app, ["notice", "--bundle", str(bundle.path), "--input", str(account),
                                          "--decision", kind, "--old-limit", "20000", "--new-limit",
                                          str(KINDS[kind]), "--locale", "zh_CN", "--policy-reason", "portfolio"])
        assert result.exit_code == 2, result.output
        message = " ".join(result.output.split())
        assert "额度使用率 from 0 to 1" in message and "额度使用率=92" in message


def test_batch_puts_the_out_of_range_percent_in_the_errors_file(bundle, tmp_path):
    from explain.batch import read_output, run_batch

    rows = [GOOD, {**GOOD, "额度使用率": 92}, {**GOOD, "近12个月逾期次数": -3}, GOOD]
    accounts = pd.DataFrame(rows)
    accounts.insert(0, "account", ["A0", "A1", "A2", "A3"])
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    kinds = ["limit_increase", "limit_decrease", "limit_increase", "account_closure"]
    pd.DataFrame({"account": accounts["account"], "decision": kinds, "old_limit": 20000.0,
                  "new_limit": [float(KINDS[k]) for k in kinds], "policy_reasons": "portfolio"}
                 ).to_csv(tmp_path / "decisions.csv", index=False)
    summary = run_batch(bundle=str(bundle.path), input=tmp_path / "accounts.csv", decisions=tmp_path / "decisions.csv",
                        out=tmp_path / "out.parquet", locales=("en",), progress=False, notice_date=dt.date(2026, 12, 1))
    assert summary.explained == 2
    assert sorted(read_output(tmp_path / "out.parquet")["account"]) == ["A0", "A3"]
    errors = pd.read_csv(summary.errors).set_index("account")
    assert errors.loc["A1", "field"] == "features.额度使用率"
    assert "额度使用率 from 0 to 1" in errors.loc["A1", "error"]
    assert errors.loc["A2", "field"] == "features.近12个月逾期次数"
    assert "0 or more" in errors.loc["A2", "error"]


def test_catalog_ranges_are_checked_when_the_catalog_is_read():
    base = {"groups": {"g": {"label": "G", "features": ["x"], "adverse": "You have {value}.", "favourable": "f"}}}
    with pytest.raises(CatalogError, match="'min' .* is above 'max'"):
        FeatureCatalog.from_dict({**base, "features": {"x": {"min": 5, "max": 1}}})
    with pytest.raises(CatalogError, match="prints \\{value\\}"):
        FeatureCatalog.from_dict({**base, "features": {"x": {"missing": True}}})
    assert issubclass(FeatureMismatchError, ValueError)
