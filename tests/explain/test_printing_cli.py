"""``--format pdf`` from a shell: ``explain notice`` writes the printed letter, ``explain batch`` prints a
portfolio's letters one file per notice or merged per chunk; bad options end with a message, never a PDF."""

from __future__ import annotations

import datetime as dt
import io
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

pypdf = pytest.importorskip("pypdf")
pytest.importorskip("weasyprint")
pytest.importorskip("pyarrow")

from explain import demo_data  # noqa: E402
from explain.batch import read_output, run_batch  # noqa: E402
from explain.cli import app  # noqa: E402

BASE = ["notice", "--bundle", "demo", "--account", "109", "--decision", "limit_increase", "--old-limit", "20000",
        "--new-limit", "30000", "--notice-date", "2026-12-01", "--locale", "en"]


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_notice_format_pdf_writes_the_printed_letter(tmp_path):
    out = tmp_path / "letter.pdf"
    result = CliRunner().invoke(app, [*BASE, "--format", "pdf", "--out", str(out), "--paper", "letter",
                                      "--mailing-address", "Jane Doe", "--mailing-address", "12 Elm Street"])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert float(reader.pages[0].mediabox.height) == pytest.approx(792, abs=0.01)
    text = _text(data)
    assert "Jane Doe\n12 Elm Street" in text and "We are raising your credit limit" in text
    assert re.search(r"Page 1 of \d", text)


@pytest.mark.parametrize(("extra", "message"), [
    (["--format", "pdf", "--out", "x.pdf", "--paper", "a5"], "The '--paper' must be one of 'a4', 'letter'. Got 'a5'"),
    (["--format", "pdf"], "--format pdf needs --out FILE"),
    (["--format", "pdf", "--out", "x.pdf", "--channel", "short"], "--format pdf needs --channel letter"),
    (["--format", "pdf", "--out", "x.pdf", *["--mailing-address", "x"] * 7], "The '--mailing-address' must be a list"),
    (["--paper", "a4"], "--paper is for the printed letter: use it with --format pdf"),
    (["--format", "png"], "--format must be one of text, html, json, pdf, got 'png'"),
])
def test_bad_print_options_exit_non_zero_with_a_message(tmp_path, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [*BASE, *extra])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "x.pdf").exists()


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory):
    """Three demo accounts, two with mailing addresses (lines in a CSV cell, and a JSON list)."""
    folder = tmp_path_factory.mktemp("pdf-batch")
    accounts = demo_data().iloc[[77, 109, 17]].reset_index(drop=True)
    accounts.insert(0, "account", ["a77", "a109", "a17"])
    decisions = pd.DataFrame({
        "account": ["a77", "a109", "a17"], "decision": ["limit_decrease", "limit_increase", "account_closure"],
        "old_limit": 20000.0, "new_limit": [8000.0, 30000.0, 0.0], "policy_reasons": ["", "", "overdue_repayment"],
        "mailing_address": ["张三\n上海市示例路88号", "", '["Li Si", "1 Example Road"]'],
    })
    accounts.to_csv(folder / "accounts.csv", index=False)
    decisions.to_csv(folder / "decisions.csv", index=False)
    return folder


def test_batch_prints_one_merged_file_per_chunk_each_letter_numbered_alone(portfolio, tmp_path):
    summary = run_batch(bundle="demo", input=portfolio / "accounts.csv", decisions=portfolio / "decisions.csv",
                        out=tmp_path / "notices.csv", locales=("zh_CN",), chunk_size=2, notice_date=dt.date(2026, 12, 1),
                        format="pdf", pdf_files="chunk", progress=False)
    assert summary.explained == 3 and summary.error_rows == 0
    rows = read_output(tmp_path / "notices.csv")
    assert rows["pdf"].tolist() == ["chunk-000000.pdf", "chunk-000000.pdf", "chunk-000001.pdf"]
    folder = tmp_path / "notices-pdf"
    assert sorted(p.name for p in folder.iterdir()) == ["chunk-000000.pdf", "chunk-000001.pdf"]
    first = pypdf.PdfReader(folder / "chunk-000000.pdf")
    labels = [re.search(r"第 (\d) 页，共 (\d) 页", page.extract_text()).groups() for page in first.pages]
    assert labels[0] == ("1", labels[0][1]) and labels.count(("1", labels[0][1])) >= 1
    assert [a for a, _ in labels].count("1") == 2  # two letters, each from page 1
    assert "张三\n上海市示例路88号" in first.pages[0].extract_text()
    assert "Li Si\n1 Example Road" in pypdf.PdfReader(folder / "chunk-000001.pdf").pages[0].extract_text()


def test_batch_refuses_bad_print_options_before_any_work(portfolio, tmp_path):
    result = CliRunner().invoke(app, [
        "batch", "--bundle", "demo", "--input", str(portfolio / "accounts.csv"), "--decisions",
        str(portfolio / "decisions.csv"), "--out", str(tmp_path / "n.csv"), "--format", "pdf", "--pdf-files", "each"])
    assert result.exit_code == 2 and "--pdf-files" in result.output and "notice, chunk" in result.output
    result = CliRunner().invoke(app, [
        "batch", "--bundle", "demo", "--input", str(portfolio / "accounts.csv"), "--decisions",
        str(portfolio / "decisions.csv"), "--out", str(tmp_path / "n.csv"), "--paper", "a4"])
    assert result.exit_code == 2 and "used with --format pdf only" in result.output
    assert not (tmp_path / "n.csv").exists()


def test_a_bad_mailing_address_in_the_decisions_file_is_an_error_row(tmp_path):
    from explain import demo_bundle
    from explain.batch._inputs import open_table
    from explain.batch._plan import make_plan

    pd.DataFrame({"account": ["a1", "a2"]}).to_csv(tmp_path / "accounts.csv", index=False)
    pd.DataFrame({"account": ["a1", "a2"], "decision": "limit_decrease", "old_limit": 20000, "new_limit": 8000,
                  "mailing_address": ["\n".join(["x"] * 7), "Jane"]}).to_csv(tmp_path / "decisions.csv", index=False)
    plan = make_plan(open_table(tmp_path / "accounts.csv", option="--input"),
                     open_table(tmp_path / "decisions.csv", option="--decisions"), catalog=demo_bundle().catalog,
                     chunk_size=10, default_currency="CNY", folder=tmp_path)
    assert plan.errors[["row", "field"]].values.tolist() == [[0, "mailing_address"]]
    assert "a list of 1 to 6 address lines" in plan.errors["error"].iat[0]
