"""One account-reference rule (and one notice-date bound) for the library, the CLI and the batch (the service's
422s are in tests/api/test_held_out_attacks.py): NFC, and no invisible, direction or separator character, named
by code point."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from typer.testing import CliRunner

from explain import NoticeInputError, demo_data
from explain.cli import app
from explain.notices._account_ref import check_account_ref

REFUSED = [
    ("6222\u202e1000", "U+202E RIGHT-TO-LEFT OVERRIDE at position 5"),
    ("6222\u200b", "U+200B ZERO WIDTH SPACE at position 5"),
    ("\ufeff6222", "U+FEFF ZERO WIDTH NO-BREAK SPACE at position 1"),
    ("62\u202822", "U+2028 LINE SEPARATOR at position 3"),
    ("62\x8522", "U+0085 (control character) at position 3"),
    ("62\x0022", "U+0000 (control character) at position 3"),
    ("62\u00a022", "U+00A0 NO-BREAK SPACE at position 3"),
    ("62\u300022", "U+3000 IDEOGRAPHIC SPACE at position 3"),
    (" 6222", "U+0020 SPACE at position 1"),
    ("6222 ", "U+0020 SPACE at position 5"),
    ("62\ue00022", "U+E000 (private-use character) at position 3"),
]


@pytest.mark.parametrize(("ref", "named"), REFUSED)
def test_invisible_direction_and_separator_characters_are_refused_by_code_point(ref, named):
    with pytest.raises(NoticeInputError, match="'account_ref' must be a visible account reference") as info:
        check_account_ref(ref)
    assert info.value.got == named


@pytest.mark.parametrize(("ref", "stored"), [("6222-0001", "6222-0001"), ("6222 0001", "6222 0001"),
                                             ("Cafe\u0301", "Caf\u00e9"), ("账户-001", "账户-001"),
                                             ("=HYPERLINK(1)", "=HYPERLINK(1)")])
def test_visible_references_pass_in_nfc(ref, stored):
    assert check_account_ref(ref) == stored


def test_empty_long_and_non_text_references_are_refused():
    for value, got in (("", "an empty reference"), ("x" * 129, "129 characters (at most 128)"), (6222, 6222)):
        with pytest.raises(NoticeInputError) as info:
            check_account_ref(value)
        assert info.value.got == got


def test_the_cli_refuses_the_reference_naming_the_code_point(bundle):
    result = CliRunner().invoke(app, ["notice", "--bundle", "demo", "--decision", "limit_decrease", "--old-limit",
                                      "20000", "--new-limit", "8000", "--notice-date", "2026-12-01", "--account", "77",
                                      "--locale", "en", "--account-ref", "6222\u202e1000"])
    assert result.exit_code != 0
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in result.output


def test_the_batch_puts_such_a_row_in_the_errors_file(tmp_path):
    pytest.importorskip("pyarrow")
    from explain.batch import run_batch

    X = demo_data().iloc[:3].reset_index(drop=True)
    refs = ["ok-1", "evil\u202e1", "ok-2"]
    accounts = X.copy()
    accounts.insert(0, "account", refs)
    decisions = pd.DataFrame({"account": refs, "decision": "limit_increase", "old_limit": 20000.0,
                              "new_limit": 30000.0, "policy_reasons": ""})
    accounts.to_parquet(tmp_path / "accounts.parquet", index=False)
    decisions.to_parquet(tmp_path / "decisions.parquet", index=False)
    summary = run_batch(bundle="demo", input=tmp_path / "accounts.parquet", decisions=tmp_path / "decisions.parquet",
                        out=tmp_path / "out.parquet", locales=("en",), channels=("letter",), chunk_size=3,
                        notice_date=dt.date(2026, 12, 1))
    errors = pd.read_csv(summary.errors)
    assert list(errors["account"]) == ["evil\u202e1"] and list(errors["field"]) == ["account_ref"]
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in errors["error"].iloc[0]


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01"])
def test_the_cli_refuses_a_notice_date_that_would_overflow(bundle, date):
    result = CliRunner().invoke(app, ["notice", "--bundle", "demo", "--decision", "limit_decrease", "--old-limit",
                                      "20000", "--new-limit", "8000", "--notice-date", date, "--account", "77",
                                      "--locale", "en"])
    assert result.exit_code != 0 and result.exception is None or isinstance(result.exception, SystemExit)
    assert "'notice_date' must be a date from 1900-01-01 to 2999-12-31" in result.output
