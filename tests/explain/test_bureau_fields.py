"""The US credit-score block is fed from the decision's bureau fields in the CLI and batch, and a decision
without them is refused at the boundary when the profile says bureau_data = true (the API: tests/api)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner
from us_lender import BUREAU, us_lender

from explain import demo_data
from explain.cli import app


@pytest.fixture(scope="module")
def us_profile(tmp_path_factory):
    return us_lender(tmp_path_factory.mktemp("us") / "lender")


def _notice(us_profile, *extra):
    return CliRunner().invoke(app, ["notice", "--bundle", "demo", "--account", "77", "--decision", "limit_decrease",
                                    "--old-limit", "20000", "--new-limit", "8000", "--locale", "en", "--currency", "USD",
                                    "--notice-date", "2026-12-01", "--profile", str(us_profile), *extra])


def test_cli_prints_the_credit_score_from_the_bureau_fields(us_profile):
    result = _notice(us_profile, "--bureau", json.dumps(BUREAU))
    assert result.exit_code == 0, result.output
    assert "Your credit score was 612 on November 20, 2026." in result.stdout
    assert "Scores range from a low of 300 to a high of 850." in result.stdout
    assert "- Too many recent credit inquiries" in result.stdout


@pytest.mark.parametrize(("extra", "message"), [
    ((), "--bureau: The 'bureau' must be the decision's bureau fields"),
    (("--bureau", json.dumps({**BUREAU, "range": [850, 300]})), "--bureau: The 'bureau.range' must be the lowest and the highest possible score"),
    (("--bureau", "[1, 2]"), "--bureau must be a JSON object"),
])
def test_cli_refuses_a_decision_without_valid_bureau_fields(us_profile, extra, message):
    result = _notice(us_profile, *extra)
    assert result.exit_code == 2 and message in result.output, result.output


def test_batch_takes_the_bureau_column_and_refuses_rows_without_it(us_profile, tmp_path):
    data = demo_data().iloc[[77, 29]].copy()
    data.insert(0, "account", ["A77", "A29"])
    data.to_csv(tmp_path / "accounts.csv", index=False)
    pd.DataFrame({"account": ["A77", "A29"], "decision": ["limit_decrease", "limit_decrease"],
                  "old_limit": [20000, 20000], "new_limit": [8000, 8000], "currency": ["USD", "USD"],
                  "bureau": [json.dumps(BUREAU), ""]}).to_csv(tmp_path / "decisions.csv", index=False)
    result = CliRunner().invoke(app, ["batch", "--bundle", "demo", "--input", str(tmp_path / "accounts.csv"),
                                      "--decisions", str(tmp_path / "decisions.csv"), "--out", str(tmp_path / "out.csv"),
                                      "--errors", str(tmp_path / "errors.csv"), "--locale", "en",
                                      "--notice-date", "2026-12-01", "--profile", str(us_profile), "--no-progress"])
    assert result.exit_code in (0, 1), result.output
    assert (tmp_path / "out.csv").is_file(), (result.output, result.exception)
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out["account"]) == ["A77"]
    assert "Your credit score was 612 on November 20, 2026." in out["text"].iat[0]
    errors = pd.read_csv(tmp_path / "errors.csv")
    assert list(errors["field"]) == ["bureau"] and "bureau_data = true" in errors["error"].iat[0]
