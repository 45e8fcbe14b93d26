"""The ``explain`` command line: demo, reasons, catalog init; bad input exits 2 with a clear message."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from explain.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def accounts_csv(tmp_path_factory, german):
    X, _ = german
    path = tmp_path_factory.mktemp("cli") / "accounts.csv"
    X.iloc[:5].to_csv(path, index=False)
    return path


def test_reasons_json(accounts_csv, bundle):
    result = runner.invoke(app, ["reasons", "--bundle", "demo", "--input", str(accounts_csv),
                                 "--decision", "account_closure", "--top", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 5 and all(len(r["reasons"]) <= 3 for r in rows)
    import pandas as pd

    expected = bundle.explainer().reasons(pd.read_csv(accounts_csv), decision="account_closure", top=3)
    assert [r["reasons"] for r in rows] == [r.to_dict()["reasons"] for r in expected]


def test_reasons_table_shows_labels_not_columns(accounts_csv):
    result = runner.invoke(app, ["reasons", "--bundle", "demo", "--input", str(accounts_csv),
                                 "--decision", "limit_decrease"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Current account" in result.output or "Loan term" in result.output


def test_demo_prints_every_decision_kind():
    result = runner.invoke(app, ["demo", "--accounts", "2"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for kind in ("limit_increase", "limit_decrease", "account_closure", "increase_declined", "increases_suspended"):
        assert kind in result.output


def test_catalog_init_writes_a_loadable_draft(tmp_path, german):
    X, _ = german
    data = tmp_path / "accounts.csv"
    X.iloc[:50].to_csv(data, index=False)
    out = tmp_path / "catalog.toml"
    result = runner.invoke(app, ["catalog", "init", "--data", str(data), "--output", str(out)])
    assert result.exit_code == 0, result.output
    from explain import FeatureCatalog

    catalog = FeatureCatalog.from_toml(out)
    assert set(catalog.feature_names) == set(X.columns)
    assert catalog.features["purpose"].kind == "category" and catalog.features["credit_amount"].kind == "money"
    assert catalog.features["duration_in_month"].kind == "months"
    protected = {g.code for g in catalog.groups.values() if g.protected}
    assert protected == {"age_in_years", "personal_status_and_sex", "foreign_worker"}
    assert "protected (proposed): personal_status_and_sex, age_in_years, foreign_worker" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--decision", "raise"], "'decision' must be one of"),
        (["--decision", "limit_decrease", "--top", "9"], "--top must be from 1 to 5"),
        (["--decision", "limit_decrease", "--format", "xml"], "--format must be 'table' or 'json'"),
        (["--decision", "limit_decrease", "--policy-reason", "late"], "Unknown policy reason 'late'"),
    ],
)
def test_bad_options_exit_2_with_a_message(accounts_csv, args, message):
    proc = subprocess.run(
        [sys.executable, "-m", "explain.cli", "reasons", "--bundle", "demo", "--input", str(accounts_csv), *args],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert message in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr


def test_bad_input_file_names_the_column(tmp_path, german):
    X, _ = german
    path = tmp_path / "bad.csv"
    X.iloc[:2].drop(columns=["purpose"]).to_csv(path, index=False)
    proc = subprocess.run(
        [sys.executable, "-m", "explain.cli", "reasons", "--bundle", "demo", "--input", str(path),
         "--decision", "limit_decrease"], capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "missing: column(s) 'purpose'" in " ".join(proc.stderr.split())
