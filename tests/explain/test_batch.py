"""``explain batch``: the local and Dask engines agree byte for byte, a SIGKILLed run resumes to the same
output and the same audit chain, and bad rows land in the errors file with the field at fault.

Small inputs (48 demo accounts, chunks of 6) keep this file to a few seconds of explaining.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from explain import demo_bundle, demo_data, render_notice
from explain.audit._audit import canonical_json
from explain.recourse import find_recourse
from explain.audit._store import AuditStore
from explain.batch import read_output, run_batch

pytest.importorskip("pyarrow")

NOTICE_DATE = dt.date(2026, 12, 1)
CHUNK = 6
N = 48


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """48 demo accounts with their decisions, and a few rows that are wrong in ways a lender's files are."""
    folder = tmp_path_factory.mktemp("batch-inputs")
    X = demo_data().iloc[:N].reset_index(drop=True)
    accounts = X.copy()
    accounts.insert(0, "account", [f"{i:06d}" for i in range(N)])  # leading zeros must survive
    kinds = ["limit_decrease", "limit_increase", "account_closure", "increase_declined"]
    decisions = pd.DataFrame({
        "account": accounts["account"],
        "decision": [kinds[i % 4] for i in range(N)],
        "old_limit": 20000.0,
        "new_limit": [[8000.0, 30000.0, 0.0, 30000.0][i % 4] for i in range(N)],
        "policy_reasons": ["overdue_repayment" if i % 4 == 2 else "" for i in range(N)],
    })
    accounts["credit_amount"] = accounts["credit_amount"].astype(object)
    accounts.loc[5, "credit_amount"] = "lots"  # text in a number column
    accounts.loc[7, "purpose"] = "spaceship"  # a category the model never saw
    accounts = pd.concat([accounts, accounts.iloc[[9]]], ignore_index=True)  # account 000009 listed twice
    decisions.loc[10, "decision"] = "limit_maybe"
    decisions.loc[11, ["decision", "old_limit", "new_limit"]] = ["limit_decrease", 1000.0, 2000.0]
    decisions.loc[12, "policy_reasons"] = "no_such_reason"
    extra = pd.DataFrame([
        {"account": "GHOST", "decision": "limit_decrease", "old_limit": 5.0, "new_limit": 1.0, "policy_reasons": ""},
        {"account": "000013", "decision": "limit_increase", "old_limit": 5.0, "new_limit": 9.0, "policy_reasons": ""},
    ])
    decisions = pd.concat([decisions, extra], ignore_index=True)
    paths = {"accounts": folder / "accounts.csv", "decisions": folder / "decisions.parquet"}
    accounts.to_csv(paths["accounts"], index=False)
    decisions.to_parquet(paths["decisions"], index=False)
    return paths


def _args(inputs: dict[str, Path], out: Path, **extra) -> dict:
    return dict(bundle="demo", input=inputs["accounts"], decisions=inputs["decisions"], out=out,
                locales=("zh_CN", "en"), channels=("letter", "short"), chunk_size=CHUNK, notice_date=NOTICE_DATE,
                **extra)


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory) -> tuple[Path, object, str]:
    """One uninterrupted local run: what every other run must reproduce."""
    out = tmp_path_factory.mktemp("batch-reference") / "notices.parquet"
    log = io.StringIO()
    summary = run_batch(**_args(inputs, out), progress_stream=log)
    return out, summary, log.getvalue()


# 000008: a decrease whose only material factor was the telephone listing, protected (Reg B §1002.6(b)(4)):
# no reason a customer may be given, so the run asks for a policy reason.
BAD_ACCOUNTS = {"000005", "000007", "000008", "000009", "000010", "000011", "000012", "000013"}


def test_good_accounts_appear_exactly_once_per_locale(reference):
    out, summary, _ = reference
    frame = read_output(out)
    expected = {f"{i:06d}" for i in range(N)} - BAD_ACCOUNTS
    assert summary.explained == len(expected) == 40
    assert sorted(frame["account"].unique()) == sorted(expected)
    assert all(sorted(group) == ["en", "zh_CN"] for group in frame.groupby("account")["locale"].apply(list))
    assert frame["decision_id"].nunique() == len(expected)
    assert frame["row"].is_monotonic_increasing  # the accounts file's order


def test_rows_equal_the_notice_of_each_account_alone(reference):
    out, _, _ = reference
    frame = read_output(out)
    explainer = demo_bundle().explainer()
    X = demo_data()
    for account in ("000000", "000001", "000002", "000047"):
        i = int(account)
        kind = ["limit_decrease", "limit_increase", "account_closure", "increase_declined"][i % 4]
        policy = ("overdue_repayment",) if i % 4 == 2 else ()
        reasons = explainer.reasons(X.iloc[[i]], decision=kind, policy_reasons=policy)[0]
        recourse = find_recourse(demo_bundle(), X.iloc[[i]], kind) if kind != "limit_increase" else None
        for locale in ("zh_CN", "en"):
            row = frame[(frame["account"] == account) & (frame["locale"] == locale)].iloc[0]
            alone = render_notice(kind, reasons, locale=locale, old_limit=20000.0,
                                  new_limit=[8000.0, 30000.0, 0.0, 30000.0][i % 4], account_ref=account,
                                  notice_date=NOTICE_DATE, catalog=demo_bundle().catalog,
                                  profile=demo_bundle().profile, recourse=recourse)
            stored = row["recourse"] if isinstance(row["recourse"], str) else None
            assert stored == (None if recourse is None else canonical_json(recourse.to_dict()))
            assert (row["subject"], row["text"], row["html"], row["short"]) == (
                alone.subject, alone.text, alone.html, alone.short)
            assert list(row["reason_codes"]) == list(reasons.codes)
            contributions = [np.nan if r.contribution is None else r.contribution for r in reasons.reasons]
            np.testing.assert_allclose(np.asarray(row["reason_contributions"], dtype=float), contributions,
                                       rtol=0, atol=1e-12)


def test_bad_rows_land_in_the_errors_file_with_the_field(reference):
    out, summary, _ = reference
    errors = pd.read_csv(summary.errors, dtype={"account": str})
    found = {(r.file, r.account, r.field) for r in errors.itertuples()}
    assert found == {
        ("decisions", "000010", "decision"),
        ("decisions", "000011", "new_limit"),
        ("decisions", "000012", "policy_reasons"),
        ("decisions", "000013", "account"),  # two decisions for one account
        ("decisions", "000013", "account"),
        ("decisions", "GHOST", "account"),  # no such account
        ("decisions", "000009", "account"),  # the account is listed twice in --input
        ("accounts", "000005", "features.credit_amount"),
        ("accounts", "000007", "features.purpose"),
        ("accounts", "000008", "policy_reasons"),
    }
    assert len(errors) == 10
    messages = dict(zip(errors["field"] + "/" + errors["account"], errors["error"], strict=False))
    assert "got 'limit_maybe'" in messages["decision/000010"]
    assert "a number; got 'lots'" in messages["features.credit_amount/000005"]
    assert "no row of --input has this reference" in messages["account/GHOST"]


def test_progress_is_logged_when_not_a_terminal(reference):
    _, _, log = reference
    # 49 account rows: 40 explained; 9 rejected (bad values, no usable decision, 000009 listed twice, and 000008
    # whose only reason was the protected telephone listing) counted apart.
    assert f"explain batch: {N + 1}/{N + 1} accounts (100%; 9 rejected)" in log
    assert "rows/s" in log


@pytest.mark.parametrize("where", ["local cluster", "scheduler address"])
def test_dask_engine_gives_byte_identical_output(inputs, reference, tmp_path, where):
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    ref_out, ref_summary, _ = reference
    out = tmp_path / "notices.parquet"
    if where == "local cluster":  # the default: a cluster of this run's own (threads here, to stay fast)
        summary = run_batch(**_args(inputs, out), engine="dask", workers=2, dask_processes=False, progress=False)
    else:  # any distributed scheduler, reached by its address
        with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
            summary = run_batch(**_args(inputs, out), engine="dask", scheduler=cluster.scheduler_address,
                                progress=False)
    assert summary.explained == ref_summary.explained
    assert out.read_bytes() == ref_out.read_bytes()
    assert Path(summary.errors).read_bytes() == Path(ref_summary.errors).read_bytes()


def test_local_worker_processes_give_byte_identical_output(inputs, reference, tmp_path):
    """Two spawned workers stage the parts themselves; the run commits them in chunk order."""
    ref_out, ref_summary, _ = reference
    out = tmp_path / "notices.parquet"
    summary = run_batch(**_args(inputs, out), workers=2, progress=False)
    assert summary.explained == ref_summary.explained
    assert out.read_bytes() == ref_out.read_bytes()
    assert Path(summary.errors).read_bytes() == Path(ref_summary.errors).read_bytes()
    assert not out.with_name(out.name + ".parts").exists()


def _chain_records(url: str) -> list:
    """Every record of the audit store at ``url``, after checking its hash chain is intact and that each record
    is on the Merkle log exactly once (bulk appends go through the same log entries as single ones)."""
    from explain.audit._checkpoint import generate_key
    from explain.audit._log import AuditLog

    store = AuditStore(url)
    try:
        assert store.verify().ok
        records = list(store.iter_records())
        log = AuditLog(store, signer=generate_key("test.example/batch"))
        checkpoint = log.integrate_all()
        assert checkpoint.size == len(records) and log.verify(checkpoint).ok
        return records
    finally:
        store.close()


def test_run_killed_half_way_resumes_exactly_once(inputs, reference, tmp_path):
    ref_out, ref_summary, _ = reference
    out = tmp_path / "notices.parquet"
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    command = [sys.executable, "-m", "explain.cli", "batch", "--bundle", "demo", "--input", str(inputs["accounts"]),
               "--decisions", str(inputs["decisions"]), "--out", str(out), "--locale", "zh_CN,en",
               "--channel", "letter,short", "--chunk-size", str(CHUNK), "--notice-date", NOTICE_DATE.isoformat(),
               "--store", url, "--no-progress"]
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    parts = out.with_name(out.name + ".parts")
    deadline = time.monotonic() + 120
    while not (parts / "part-000002.parquet").exists():
        assert worker.poll() is None, worker.stderr.read().decode()
        assert time.monotonic() < deadline, "the batch never got going"
        time.sleep(0.02)
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait() == -signal.SIGKILL
    worker.stderr.close()
    assert not out.exists()  # killed half-way: 3 of 9 chunks done at most a moment ago
    assert len(list(parts.glob("part-*.parquet"))) < 9

    summary = run_batch(**_args(inputs, out), store_url=url, progress=False)
    assert summary.resumed_chunks >= 3
    assert out.read_bytes() == ref_out.read_bytes()
    assert Path(summary.errors).read_bytes() == Path(ref_summary.errors).read_bytes()
    records = _chain_records(url)
    assert len(records) == ref_summary.explained  # every account exactly once: no gap, no duplicate
    assert sorted(r.account_ref for r in records) == sorted(read_output(out)["account"].unique())
    assert {r.decision_id for r in records} == set(read_output(out)["decision_id"])

    again = run_batch(**_args(inputs, tmp_path / "again.parquet"), store_url=url, progress=False)
    assert again.stored == 0  # the same decisions run again are recognised, not stored twice


@pytest.mark.parametrize(("extra", "message"), [
    (["--engine", "spark"], "'--engine' must be one of local, dask"),
    (["--device", "cuda"], "--device cuda is not available: the GPU kernel is XGBoost's"),
    (["--locale", "fr"], "'--locale' must be one of"),
    (["--channel", "fax"], "'--channel' must be one or more of letter, short"),
    (["--scheduler", "tcp://127.0.0.1:8786"], "used with --engine dask only"),
])
def test_cli_rejects_bad_options_naming_them(inputs, tmp_path, extra, message):
    from explain.cli import app

    result = CliRunner().invoke(app, ["batch", "--bundle", "demo", "--input", str(inputs["accounts"]),
                                      "--decisions", str(inputs["decisions"]), "--out", str(tmp_path / "o.parquet"),
                                      *extra])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_missing_feature_column_is_named(inputs, tmp_path):
    accounts = pd.read_csv(inputs["accounts"]).drop(columns=["duration_in_month"])
    path = tmp_path / "accounts.parquet"
    accounts.to_parquet(path)
    with pytest.raises(ValueError, match="--input column 'duration_in_month'.* must be every model input .*1 missing: duration_in_month"):
        run_batch(**{**_args(inputs, tmp_path / "o.parquet"), "input": path}, progress=False)


def test_a_restart_with_other_inputs_is_refused_not_mixed(tmp_path):
    from explain._exceptions import InvalidInputError
    from explain.batch._output import PartsFolder

    out = tmp_path / "notices.parquet"
    key = {"input_sha256": "a" * 64, "locales": ["zh_CN", "en"], "notice_date": None}
    first = PartsFolder(out, tmp_path / "e.csv", key).open(today="2026-12-01")
    assert first["notice_date"] == "2026-12-01"
    resumed = PartsFolder(out, tmp_path / "e.csv", key).open(today="2026-12-02")
    assert resumed["notice_date"] == "2026-12-01"  # a resumed run keeps the first start's notice date
    with pytest.raises(InvalidInputError, match="same inputs and options as the unfinished run"):
        PartsFolder(out, tmp_path / "e.csv", {**key, "locales": ["en"]}).open(today="2026-12-01")


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory) -> dict[str, Path]:
    """All 1,000 demo accounts, every one with a decision: enough chunks that a run is still going when a
    worker is killed."""
    folder = tmp_path_factory.mktemp("batch-portfolio")
    X = demo_data()
    refs = [f"{i:06d}" for i in range(len(X))]
    kinds = np.array(["limit_decrease", "limit_increase", "account_closure", "increase_declined"])[np.arange(len(X)) % 4]
    decisions = pd.DataFrame({"account": refs, "decision": kinds, "old_limit": 20000.0,
                              "new_limit": np.select([kinds == "limit_decrease", kinds == "account_closure"],
                                                     [8000.0, 0.0], 30000.0),
                              "policy_reasons": np.where(kinds == "account_closure", "overdue_repayment", "")})
    paths = {"accounts": folder / "accounts.parquet", "decisions": folder / "decisions.csv"}
    X.assign(account=refs).to_parquet(paths["accounts"], index=False)
    decisions.to_csv(paths["decisions"], index=False)
    return paths


def test_a_killed_worker_process_stops_the_run_and_a_restart_finishes_it(portfolio, tmp_path):
    """SIGKILL one of two worker processes half-way: the run exits naming what happened, keeps what was done,
    and the same command run again gives the output and audit chain of an uninterrupted run."""
    psutil = pytest.importorskip("psutil")
    args = ["--bundle", "demo", "--input", str(portfolio["accounts"]), "--decisions", str(portfolio["decisions"]),
            "--locale", "zh_CN,en", "--chunk-size", "10", "--notice-date", NOTICE_DATE.isoformat(), "--no-progress"]
    reference = tmp_path / "reference.parquet"
    subprocess.run([sys.executable, "-m", "explain.cli", "batch", *args, "--out", str(reference)], check=True,
                   stdout=subprocess.DEVNULL)

    out = tmp_path / "notices.parquet"
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    command = [sys.executable, "-m", "explain.cli", "batch", *args, "--out", str(out), "--workers", "2",
               "--store", url]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    parts = out.with_name(out.name + ".parts")
    deadline = time.monotonic() + 180
    while not (parts / "part-000005.parquet").exists():
        assert run.poll() is None, run.stderr.read()
        assert time.monotonic() < deadline, "the batch never got going"
        time.sleep(0.01)
    workers = [p for p in psutil.Process(run.pid).children() if "spawn_main" in " ".join(p.cmdline())]
    assert len(workers) == 2
    workers[0].send_signal(signal.SIGKILL)
    assert run.wait(timeout=120) == 2  # the CLI's exit code for an error it names
    message = run.stderr.read()
    run.stderr.close()
    assert "A worker process stopped before finishing chunk" in message and "run the same command again" in message
    assert not out.exists()
    done = len(list(parts.glob("part-*.parquet")))
    assert 6 <= done < 100

    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    assert out.read_bytes() == reference.read_bytes()
    records = _chain_records(url)
    assert len(records) == len(read_output(reference)) // 2 > 990
    assert {r.decision_id for r in records} == set(read_output(out)["decision_id"])


def test_decision_values_are_quoted_as_the_lender_wrote_them(tmp_path):
    """A CSV value is quoted from the file's text (never a numpy repr), whatever the rest of its column holds."""
    from explain.batch._inputs import open_table
    from explain.batch._plan import make_plan

    pd.DataFrame({"account": ["a1", "a2"]}).to_csv(tmp_path / "accounts.csv", index=False)
    pd.DataFrame({"account": ["a1", "a2"], "decision": ["limit_decrease", "limit_decrease"],
                  "old_limit": [-5, 20000], "new_limit": [1, 8000]}).to_csv(tmp_path / "decisions.csv", index=False)
    plan = make_plan(open_table(tmp_path / "accounts.csv", option="--input"),
                     open_table(tmp_path / "decisions.csv", option="--decisions"), catalog=demo_bundle().catalog,
                     chunk_size=10, default_currency="CNY", folder=tmp_path)
    assert plan.errors[["row", "field"]].values.tolist() == [[0, "old_limit"]]
    assert plan.errors["error"].iat[0].endswith("got '-5'")


def test_a_worker_that_cannot_start_says_why(tmp_path):
    """The worker's own error reaches the caller (not a bare 'process pool broken'), and nothing hangs."""
    from explain._exceptions import WorkerError
    from explain.batch._engines import WorkerPool

    pool = WorkerPool(2, bundle=str(tmp_path / "no-such-bundle"), trusted=False, profile=None, device="cpu")
    try:
        with pytest.raises(WorkerError, match=r"could not start: InvalidInputError: The '--bundle' must be"):
            pool.wait()
    finally:
        pool.close()


def test_id_column_ignore_and_a_label_column_handled_as_the_api_does(tmp_path):
    """A lender's own account column, a label the model does not take: refused unless --ignore'd, never dropped
    silently; with both options the notices are the default run's."""
    from explain._exceptions import InvalidInputError

    X = demo_data().iloc[:6].reset_index(drop=True)
    accounts = X.copy()
    accounts.insert(0, "客户号", [f"K{i}" for i in range(6)])
    accounts["creditability"] = "good"
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    pd.DataFrame({"客户号": accounts["客户号"], "decision": "limit_decrease", "old_limit": 20000.0,
                  "new_limit": 8000.0}).to_csv(tmp_path / "decisions.csv", index=False)
    args = dict(bundle="demo", input=tmp_path / "accounts.csv", decisions=tmp_path / "decisions.csv",
                locales=("en",), notice_date=NOTICE_DATE, progress=False)
    with pytest.raises(InvalidInputError, match="column 'account'.*--id-column"):
        run_batch(**args, out=tmp_path / "a.parquet")
    with pytest.raises(InvalidInputError, match="--input column 'creditability'.*--ignore"):
        run_batch(**args, out=tmp_path / "b.parquet", id_column="客户号")
    with pytest.raises(InvalidInputError, match="'--ignore'.*'label'"):
        run_batch(**args, out=tmp_path / "c.parquet", id_column="客户号", ignore=("label",))
    summary = run_batch(**args, out=tmp_path / "d.parquet", id_column="客户号", ignore=("creditability",))
    assert summary.explained == 6
    frame = read_output(tmp_path / "d.parquet")
    assert list(frame["account"]) == [f"K{i}" for i in range(6)]
    alone = render_notice("limit_decrease", demo_bundle().explainer().reasons(X.iloc[[3]], decision="limit_decrease")[0],
                          locale="en", old_limit=20000.0, new_limit=8000.0, account_ref="K3", notice_date=NOTICE_DATE,
                          catalog=demo_bundle().catalog, profile=demo_bundle().profile)
    assert frame.loc[frame["account"] == "K3", "text"].iloc[0] == alone.text


def test_default_chunks_let_progress_move_about_every_second():
    from explain.batch._runner import auto_chunk_size

    assert auto_chunk_size(5000, 1) == 250  # 20 moves on 5,000 accounts (was 3 with chunks of 2,000)
    assert auto_chunk_size(5000, 4) == 100
    assert auto_chunk_size(1_000_000, 1) == 1000


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(tmp_path):
    """The notices and errors CSV files follow the service export's OWASP rule; numbers stay numbers."""
    import csv

    from explain.batch._output import write_frame

    hostile = ['=HYPERLINK("http://x")', "=cmd|' /C calc'!A0", "+1+1", "@SUM(1)", "\tx", "6222-0001"]
    frame = pd.DataFrame({"account": hostile, "score": [0.5, -0.8, 1.0, 2.0, 3.0, 4.0]})
    path = tmp_path / "notices.csv"
    write_frame(frame, path, ["account", "score"])
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    assert [r[0] for r in rows] == ["'" + h for h in hostile[:5]] + ["6222-0001"]
    assert [r[1] for r in rows] == ["0.5", "-0.8", "1.0", "2.0", "3.0", "4.0"]
