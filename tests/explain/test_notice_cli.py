"""``explain notice`` and the notices of ``explain demo``, through the real CLI app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from explain import demo_data
from explain.commands._cli_notice import DEMO_CASES, print_demo_notices
from explain.cli import app

BASE = ["notice", "--bundle", "demo", "--decision", "limit_decrease", "--old-limit", "20000", "--new-limit", "8000",
        "--notice-date", "2026-12-01"]


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def account_json(tmp_path) -> Path:
    path = tmp_path / "account.json"
    path.write_text(json.dumps(demo_data().iloc[77].to_dict(), default=int), encoding="utf-8")
    return path


def invoke(runner: CliRunner, *args: str):
    return runner.invoke(app, [*args], catch_exceptions=False)


def test_one_line_for_a_newcomer(runner, bundle):
    result = invoke(runner, *BASE, "--account", "77", "--locale", "zh_CN")
    assert result.exit_code == 0, result.output
    golden = Path(__file__).resolve().parents[1] / "golden" / "notices" / "limit_decrease" / "zh_CN"
    subject = (golden / "subject.txt").read_text("utf-8").strip()
    letter = (golden / "letter.txt").read_text("utf-8")
    assert result.stdout == f"{subject}\n\n{letter}"


@pytest.mark.parametrize("locale", ["zh-CN", "zh", "zh-Hans", "en-US", "en"])
def test_locale_spellings(runner, bundle, locale):
    result = invoke(runner, *BASE, "--account", "77", "--locale", locale, "--channel", "short")
    assert result.exit_code == 0, result.output
    assert ("¥8,000.00" in result.stdout) and result.stdout.count("\n") == 1


def test_input_json_and_json_format(runner, bundle, account_json):
    result = invoke(runner, *BASE, "--input", str(account_json), "--locale", "en", "--format", "json",
                    "--account-ref", "6222-0077")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"subject", "text", "html", "short", "locale", "reasons"} <= set(data)
    assert data["locale"] == "en" and data["reasons"] and "6222-0077" in data["text"]
    assert data["reasons"] == ["current_account", "amount_borrowed", "savings"]  # the telephone listing is protected


def test_html_format(runner, bundle):
    result = invoke(runner, *BASE, "--account", "77", "--locale", "en", "--format", "html")
    assert result.exit_code == 0
    assert result.stdout.startswith("<!DOCTYPE html>") and "</html>" in result.stdout


def test_policy_reason_comes_first(runner, bundle):
    result = invoke(runner, *BASE, "--account", "77", "--locale", "en", "--policy-reason", "unusual_account_activity",
                    "--format", "json")
    assert json.loads(result.stdout)["reasons"][0] == "unusual_account_activity"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--account", "77", "--locale", "fr"], "--locale: The 'locale' must be one of 'zh_CN', 'en'"),
        (["--account", "77", "--locale", "en", "--decision", "limit_cut"], "--decision"),
        (["--account", "77", "--locale", "en", "--new-limit", "30000"], "--new-limit: The 'new_limit' must be below"),
        (["--account", "77", "--locale", "en", "--old-limit", "-5"],
         "--old-limit: The 'old_limit' must be zero or more"),
        (["--account", "77", "--locale", "en", "--old-limit", "lots"], "--old-limit must be an amount"),
        (["--account", "77", "--locale", "en", "--policy-reason", "aliens"], "--policy-reason: Unknown policy reason"),
        (["--account", "77", "--locale", "en", "--format", "png"], "--format must be one of text, html, json, pdf"),
        (["--account", "77", "--locale", "en", "--channel", "fax"], "--channel must be one of letter, short"),
        (["--account", "77", "--locale", "en", "--channel", "short", "--format", "html"], "--format html needs"),
        (["--account", "77", "--locale", "en", "--notice-date", "1/12/2026"], "--notice-date must be a date"),
        (["--account", "5000", "--locale", "en"], "--account must be from 0 to 999"),
        (["--locale", "en"], "give exactly one of --input"),
        (["--account", "77", "--locale", "en", "--profile", "/nonexistent.toml"], "--profile"),
    ],
)
def test_errors_name_the_option_and_exit_2(runner, bundle, args, message):
    merged = list(BASE)
    for flag, value in zip(args[::2], args[1::2]):
        if flag in merged:
            merged[merged.index(flag) + 1] = value
        else:
            merged += [flag, value]
    result = runner.invoke(app, merged)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.output


def test_account_needs_the_demo_bundle(runner, tmp_path):
    result = runner.invoke(app, [*BASE[:2], str(tmp_path), *BASE[3:], "--account", "1", "--locale", "en"])
    assert result.exit_code == 2
    assert "--account" in result.stderr


def test_input_must_be_one_object(runner, bundle, tmp_path):
    path = tmp_path / "a.json"
    path.write_text("[1, 2]", encoding="utf-8")
    result = runner.invoke(app, [*BASE, "--input", str(path), "--locale", "en"])
    assert result.exit_code == 2 and "one JSON object" in result.stderr


def test_demo_prints_both_languages(bundle):
    console = Console(record=True, width=120, color_system=None)
    print_demo_notices(console, bundle)
    out = console.export_text()
    for case in DEMO_CASES:
        assert f"{case.decision} · account {case.account} · zh_CN" in out
        assert f"{case.decision} · account {case.account} · en" in out
    assert "关于下调您信用额度的通知" in out and "We are lowering your credit limit" in out


def test_adverse_decision_without_a_model_reason_asks_for_a_policy_reason(runner, bundle):
    # Demo account 209 has no material model reason for a decrease.
    result = runner.invoke(app, [*BASE, "--account", "209", "--locale", "en"])
    assert result.exit_code == 2 and "--policy-reason" in result.stderr
    result = runner.invoke(app, [*BASE, "--account", "209", "--locale", "en", "--policy-reason", "portfolio_tightening",
                                 "--channel", "short"])
    assert result.exit_code == 0 and "we have changed our lending rules for all customers" in result.stdout
