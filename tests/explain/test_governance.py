"""Model governance (``explain compare``): a planted model change, a planted near-tie and a planted disparity,
each found where it was planted and nowhere else, and every figure equal to a recomputation done here.

The bundles are logistic regressions on a few hundred synthetic accounts: their exact Shapley values are
``w_j * (x_j - mean_j)`` over the background, so the expected reasons can be worked out by hand.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explain import Decision, save_bundle
from explain.governance import GovernanceReport, alternatives, compare_bundles, cutoff_reference

from lender_support import make_lender

pytest.importorskip("pyarrow")

FEATURES = ("income", "utilisation", "tenure", "age")
REASON_GROUPS = ("income", "utilisation", "tenure")  # "age" is protected
CATALOG = "\n".join([
    '[catalog]\nname = "governance-test"\nversion = "1"\ntop = 3\nmateriality = 0.02\n',
    *(f'[groups.{name}]\nlabel = "{name.title()}"\nfeatures = ["{name}"]\ndirection = "{direction}"\n'
      f'adverse = "Your {name}: {{value}}."\nfavourable = "Your {name}: {{value}}."\n{extra}'
      for name, direction, extra in (("income", "higher_is_safer", ""), ("utilisation", "higher_is_riskier", ""),
                                     ("tenure", "higher_is_safer", ""), ("age", "none", "protected = true\n"))),
])
N = 240
CHUNK = 64  # several chunks, the last one short
HEAVIER = 4.0  # the new model's weight on utilisation, relative to the old one's


def _data(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"income": rng.normal(5, 1.5, rows).round(2), "utilisation": rng.uniform(0, 1, rows).round(3),
                      "tenure": rng.integers(0, 20, rows).astype(float), "age": rng.integers(21, 70, rows).astype(float)})
    logit = -0.6 * (X.income - 5) + 2.0 * (X.utilisation - 0.5) - 0.1 * (X.tenure - 10) + rng.normal(0, 0.5, rows)
    return X, (logit > 0).astype(int).to_numpy()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """The old model and the planted change: the same model leaning ``HEAVIER`` times more on utilisation."""
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("governance-bundles")
    lender = make_lender(folder / "lender", CATALOG)
    X, y = _data(600, 1)
    old_model = LogisticRegression().fit(X, y)
    new_model = copy.deepcopy(old_model)
    new_model.coef_[0, FEATURES.index("utilisation")] *= HEAVIER
    background = X.iloc[:100].reset_index(drop=True)
    old = save_bundle(folder / "old", model=old_model, lender=lender, background=background, name="limits", version="1")
    new = save_bundle(folder / "new", model=new_model, lender=lender, background=background, name="limits", version="2")
    return old, new


def _planted_tie(bundle, *, gap: float) -> dict[str, float]:
    """An account whose income and utilisation push toward risk by amounts ``gap`` apart (utilisation larger),
    tenure and age at the background mean (no push)."""
    w = dict(zip(FEATURES, bundle.model.coef_[0], strict=True))
    mean = bundle.background.mean()
    push_income = 0.8
    return {"income": float(mean.income + push_income / w["income"]),
            "utilisation": float(mean.utilisation + (push_income + gap) / w["utilisation"]),
            "tenure": float(mean.tenure), "age": float(mean.age)}


@pytest.fixture(scope="module")
def inputs(bundles, tmp_path_factory) -> dict[str, Path]:
    """``N`` accounts (plus a near-tie and a clear account), their decisions and a protected column.

    ``sex`` is planted: accounts marked "F" were given higher utilisation. ``cohort`` is an exact null: the
    portfolio is listed twice, cohort "A" then cohort "B", so every figure is the same in both.
    """
    _, new = bundles
    folder = tmp_path_factory.mktemp("governance-inputs")
    X, _ = _data(N, 2)
    rng = np.random.default_rng(3)
    sex = np.where(rng.random(N) < 0.4, "F", "M")
    X.loc[sex == "F", "utilisation"] = np.minimum(1.0, X.loc[sex == "F", "utilisation"] + 0.35).round(3)
    planted = pd.DataFrame([_planted_tie(new, gap=0.01), _planted_tie(new, gap=3.0)])
    X = pd.concat([X, planted], ignore_index=True)
    sex = np.concatenate([sex, ["M", "M"]])
    accounts = pd.concat([X, X], ignore_index=True)
    accounts.insert(0, "account", [f"A{i:04d}" for i in range(len(X))] + [f"B{i:04d}" for i in range(len(X))])
    accounts["sex"] = np.concatenate([sex, sex])
    accounts["cohort"] = ["A"] * len(X) + ["B"] * len(X)
    tie, clear = f"A{N:04d}", f"A{N + 1:04d}"
    kinds = np.where(np.arange(len(accounts)) % len(X) % 5 == 4, "limit_increase", "limit_decrease")
    kinds[accounts["account"].isin([tie, clear]).to_numpy()] = "limit_decrease"
    decisions = pd.DataFrame({"account": accounts["account"], "decision": kinds, "old_limit": 10000.0,
                              "new_limit": np.where(kinds == "limit_increase", 15000.0, 6000.0)})
    shifted = new.background.copy()
    # A reference population with more utilisation: every account's utilisation pushes 0.5 (log-odds) less.
    shifted["utilisation"] = shifted["utilisation"] + 0.5 / new.model.coef_[0, FEATURES.index("utilisation")]
    paths = {"accounts": folder / "accounts.csv", "decisions": folder / "decisions.parquet",
             "shifted": folder / "shifted.csv", "tie": tie, "clear": clear}
    accounts.to_csv(paths["accounts"], index=False)
    decisions.to_parquet(paths["decisions"], index=False)
    shifted.to_csv(paths["shifted"], index=False)
    return paths


@pytest.fixture(scope="module")
def report(bundles, inputs, tmp_path_factory) -> tuple[GovernanceReport, list[dict]]:
    old, new = bundles
    lines = tmp_path_factory.mktemp("governance-out") / "changes.jsonl"
    result = compare_bundles(old, new, accounts=inputs["accounts"], decisions=inputs["decisions"], chunk_size=CHUNK,
                             stability=True, backgrounds={"shifted": inputs["shifted"]}, protected=("sex", "cohort"),
                             replicates=300, seed=11, listed=1000, changes_out=lines)
    return result, [json.loads(line) for line in lines.read_text("utf-8").splitlines()]


@pytest.fixture(scope="module")
def direct(bundles, inputs) -> pd.DataFrame:
    """Every account explained here, one decision kind at a time, by each bundle: the recomputation."""
    old, new = bundles
    accounts = pd.read_csv(inputs["accounts"])
    decisions = pd.read_parquet(inputs["decisions"])
    rows = []
    for kind in sorted(decisions["decision"].unique()):
        mask = (decisions["decision"] == kind).to_numpy()
        X = accounts.loc[mask, list(FEATURES)]
        for position, a, b in zip(X.index, old.explainer().reasons(X, decision=kind),
                                  new.explainer().reasons(X, decision=kind), strict=True):
            rows.append({"position": position, "account": accounts.at[position, "account"], "decision": kind,
                         "old": a, "new": b, "sex": accounts.at[position, "sex"], "cohort": accounts.at[position, "cohort"]})
    return pd.DataFrame(rows).set_index("position").sort_index()


def _shown(result) -> tuple:
    return tuple((r.code, r.feature, r.counter_intuitive) for r in result.reasons)


# ------------------------------------------------------------------------------------------- version diff
def test_the_planted_change_moves_utilisation_up_on_exactly_the_expected_accounts(bundles, inputs, report):
    """Worked out by hand: a decrease's reasons are the groups pushing toward risk, largest first; the new
    model multiplies utilisation's push by HEAVIER and leaves the others as they were."""
    old, new = bundles
    result, lines = report
    accounts = pd.read_csv(inputs["accounts"])
    decisions = pd.read_parquet(inputs["decisions"])
    w = dict(zip(FEATURES, old.model.coef_[0], strict=True))
    pushes = pd.DataFrame({g: w[g] * (accounts[g] - old.background[g].mean()) for g in REASON_GROUPS})
    rest = pushes.drop(columns="utilisation").max(axis=1)
    decrease = (decisions["decision"] == "limit_decrease").to_numpy()
    becomes_first = decrease & (pushes.utilisation < rest).to_numpy() & (HEAVIER * pushes.utilisation > rest).to_numpy()
    expected = set(accounts.loc[becomes_first, "account"])
    assert len(expected) > 20
    moved_first = {line["account"] for line in lines if (line.get("new_reasons") or [None])[0] == "utilisation"
                   and line["old_reasons"][:1] != ["utilisation"] and line["decision"] == "limit_decrease"}
    assert moved_first == expected
    assert result.diff["drivers"][0] == "utilisation"
    groups = {g["group"]: g for g in result.diff["groups"]}
    for code in ("income", "tenure", "age"):  # unchanged model weights: not a single contribution moved
        assert abs(groups[code]["mean_abs_change"]) < 1e-12
    # Utilisation's contribution grew by (HEAVIER - 1) times the old one, on average over the accounts.
    old_util = old.explainer().explain(accounts.loc[:, list(FEATURES)]).by_group()["utilisation"]
    assert groups["utilisation"]["mean_change"] == pytest.approx((HEAVIER - 1) * old_util.mean(), rel=1e-9)


def test_diff_figures_equal_a_recomputation(report, direct):
    result, lines = report
    diff = result.diff
    changed = direct[[_shown(a) != _shown(b) for a, b in zip(direct.old, direct.new, strict=True)]]
    assert diff["accounts"] == len(direct)
    assert diff["notice_changes"] == len(changed) > 0
    assert {line["account"] for line in lines if line.get("notice_changes")} == set(changed.account)
    for kind, frame in direct.groupby("decision"):
        figures = diff["by_kind"][kind]
        assert figures["accounts"] == len(frame)
        assert figures["mix_old"] == dict(Counter(c for r in frame.old for c in r.codes))
        assert figures["mix_new"] == dict(Counter(c for r in frame.new for c in r.codes))
        assert figures["added"] == dict(Counter(c for a, b in zip(frame.old, frame.new, strict=True)
                                                for c in b.codes if c not in a.codes))
        assert figures["reordered"] == sum(set(a.codes) == set(b.codes) and a.codes != b.codes
                                           for a, b in zip(frame.old, frame.new, strict=True))
    shift = np.array([b.score - a.score for a, b in zip(direct.old, direct.new, strict=True)])
    assert diff["score"]["mean_change"] == pytest.approx(shift.mean(), rel=1e-12)
    assert diff["score"]["increased"] == int((shift > 0).sum())
    line = next(line for line in lines if line.get("notice_changes"))
    mine = direct.loc[line["row"]]
    assert line["old_reasons"] == list(mine.old.codes) and line["new_reasons"] == list(mine.new.codes)
    assert line["contribution_change"]["utilisation"] == pytest.approx(
        mine.new.group_contributions["utilisation"] - mine.old.group_contributions["utilisation"], abs=1e-12)


def test_the_report_names_the_bundles_and_data_it_covers(bundles, inputs, report):
    import hashlib

    old, new = bundles
    result, _ = report
    coverage = result.coverage
    assert (coverage["old"]["version"], coverage["new"]["version"]) == ("1", "2")
    assert (coverage["old"]["sha256"], coverage["new"]["sha256"]) == (old.sha256, new.sha256)
    assert coverage["accounts"]["sha256"] == hashlib.sha256(inputs["accounts"].read_bytes()).hexdigest()
    assert coverage["decisions"]["sha256"] == hashlib.sha256(inputs["decisions"].read_bytes()).hexdigest()
    assert coverage["options"]["seed"] == 11


def test_same_inputs_give_the_same_bytes_and_the_chunk_size_changes_no_count(bundles, inputs, report):
    old, new = bundles
    again = compare_bundles(old, new, accounts=inputs["accounts"], decisions=inputs["decisions"], chunk_size=CHUNK,
                            stability=True, backgrounds={"shifted": inputs["shifted"]}, protected=("sex", "cohort"),
                            replicates=300, seed=11, listed=1000)
    assert again.to_json() == report[0].to_json()
    other = compare_bundles(old, new, accounts=inputs["accounts"], decisions=inputs["decisions"], chunk_size=500)
    assert other.diff["by_kind"] == report[0].diff["by_kind"]
    assert other.diff["notice_changes"] == report[0].diff["notice_changes"]


def test_a_cutoff_counts_the_accounts_that_cross_it(bundles, inputs, direct):
    old, new = bundles
    cutoff = 0.5
    result = compare_bundles(old, new, accounts=inputs["accounts"], decisions=inputs["decisions"], chunk_size=CHUNK,
                             cutoff=cutoff)
    was = np.array([r.score <= cutoff for r in direct.old])
    now = np.array([r.score <= cutoff for r in direct.new])
    assert result.diff["decision_shifts"] == {"cutoff": cutoff, "approved_to_declined": int((was & ~now).sum()),
                                              "declined_to_approved": int((~was & now).sum())}
    assert result.diff["decision_shifts"]["approved_to_declined"] > 0


# ---------------------------------------------------------------------------------------------- stability
def test_the_planted_near_tie_is_unstable_and_the_clear_account_is_not(inputs, report):
    result, lines = report
    by_account = {line["account"]: line for line in lines}
    unstable = {row["account"] for row in result.stability["unstable_accounts"]}
    assert inputs["tie"] in unstable
    assert inputs["clear"] not in unstable and "unstable" not in by_account.get(inputs["clear"], {})
    tie = by_account[inputs["tie"]]["unstable"]
    # Baseline: utilisation just ahead of income; against the shifted background, income ahead.
    assert tie["reasons"][:2] == ["utilisation", "income"]
    assert tie["alternatives"]["background:shifted"][:2] == ["income", "utilisation"]
    assert [a["name"] for a in result.stability["alternatives"]] == ["background:shifted"]  # linear: no tree modes


def test_stability_figures_equal_a_recomputation(bundles, inputs, report, direct):
    _, new = bundles
    result, _ = report
    [alternative] = alternatives(new, backgrounds={"shifted": pd.read_csv(inputs["shifted"])})
    accounts = pd.read_csv(inputs["accounts"])
    unstable, set_changes = Counter(), Counter()
    for kind, frame in direct.groupby("decision"):
        others = alternative.explainer.reasons(accounts.loc[frame.index, list(FEATURES)], decision=kind)
        unstable[kind] = sum(a.codes != b.codes for a, b in zip(frame.new, others, strict=True))
        set_changes[kind] = sum(set(a.codes) != set(b.codes) for a, b in zip(frame.new, others, strict=True))
    assert {k: v["unstable"] for k, v in result.stability["by_kind"].items()} == dict(unstable)
    assert {k: v["set_changes"] for k, v in result.stability["by_kind"].items()} == dict(set_changes)
    assert result.stability["unstable"] == sum(unstable.values()) > 1


def test_a_tree_bundle_is_tested_against_path_dependent_values(bundle):
    """The demo bundle (interventional trees): the path-dependent alternative gives the library's own
    path-dependent reasons, and the cutoff reference is the approved background nearest the cutoff."""
    from explain import Explainer, demo_data

    cutoff = 0.3
    found = alternatives(bundle, cutoff=cutoff, marginal=20)
    assert [a.name for a in found] == ["path_dependent", "cutoff_reference"]
    X = demo_data().iloc[:25]
    expected = Explainer(bundle.model, catalog=bundle.catalog, background=bundle.background, higher_is="risk",
                         tree_mode="path_dependent").reasons(X, decision="limit_decrease")
    assert [r.codes for r in found[0].explainer.reasons(X, decision="limit_decrease")] == [r.codes for r in expected]
    scores = bundle.explainer().explain(bundle.background).scores
    reference = cutoff_reference(bundle, cutoff, size=20)
    passing = np.flatnonzero(scores <= cutoff)
    nearest = sorted(passing[np.argsort(cutoff - scores[passing], kind="stable")[:20]].tolist())
    assert list(reference.index) == list(bundle.background.index[nearest])


# ---------------------------------------------------------------------------------------------- disparity
def test_the_planted_disparity_is_flagged_with_an_interval_excluding_zero(report):
    result, _ = report
    sex = result.disparity["by_kind"]["limit_decrease"]["sex"]["F"]["metrics"]["reason_share:utilisation"]
    assert sex["flagged"] and sex["gap"] > 0.1 and sex["ci"][0] > 0
    flagged = {(f["column"], f["metric"]) for f in result.disparity["flags"]}
    assert ("sex", "reason_share:utilisation") in flagged


def test_the_null_cohort_is_not_flagged(report):
    result, _ = report
    assert not [f for f in result.disparity["flags"] if f["column"] == "cohort"]
    cohort = result.disparity["by_kind"]["limit_decrease"]["cohort"]["A"]["metrics"]
    assert all(m["gap"] == pytest.approx(0.0, abs=1e-12) for m in cohort.values())
    assert all(m["ci"][0] <= 0 <= m["ci"][1] for m in cohort.values())


def test_disparity_figures_equal_a_recomputation(report, direct):
    result, _ = report
    figures = result.disparity["by_kind"]
    for kind, frame in direct.groupby("decision"):
        for value in ("F", "M"):
            mine, rest = frame[frame.sex == value], frame[frame.sex != value]
            metrics = figures[kind]["sex"][value]["metrics"]
            assert figures[kind]["sex"][value]["accounts"] == len(mine)
            for code in REASON_GROUPS:
                share = np.mean([code in r.codes for r in mine.new])
                other = np.mean([code in r.codes for r in rest.new])
                assert metrics[f"reason_share:{code}"]["value"] == pytest.approx(share, abs=1e-12)
                assert metrics[f"reason_share:{code}"]["gap"] == pytest.approx(share - other, abs=1e-12)
            for code in FEATURES:
                mean = np.mean([r.group_contributions[code] for r in mine.new])
                assert metrics[f"mean_contribution:{code}"]["value"] == pytest.approx(mean, rel=1e-9, abs=1e-12)
            counter = np.mean([any(x.counter_intuitive for x in r.reasons) for r in mine.new])
            assert metrics["counter_intuitive_share"]["value"] == pytest.approx(counter, abs=1e-12)


# ------------------------------------------------------------------------------------------------------ HTML
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_html_page_loads_nothing_from_outside_and_lists_what_was_planted(bundles, inputs, report, locale):
    import re

    from explain.governance import render_governance

    _, new = bundles
    result, _ = report
    html = render_governance(result, locale=locale, catalog=new.catalog)
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(http" not in html
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html)
    assert html.count("<svg") == 1 + len(result.diff["by_kind"])  # the drivers and one reason mix per kind
    assert inputs["tie"] in html  # the unstable account is listed
    assert result.coverage["new"]["sha256"] in html and result.coverage["accounts"]["sha256"] in html
    title = {"zh_CN": "模型治理报告", "en": "Model governance report"}[locale]
    assert f"<h1>{title}</h1>" in html
    if locale == "zh_CN":  # labels from the lender's translations, never the English ids
        assert "Utilisation, after" not in html and "【译】Utilisation" in html


def test_the_compliance_report_carries_the_governance_sections_when_given(bundles, report):
    from explain.audit._audit import verify_chain
    from explain.audit._report import build_report, render_report

    _, new = bundles
    compliance = build_report([], bundles=[], verification=verify_chain([]), sample_size=0)
    plain = render_report(compliance, locale="en", catalog=new.catalog)
    both = render_report(compliance, locale="en", catalog=new.catalog, governance=report[0])
    assert "Model change and reason governance" not in plain
    assert "Model change and reason governance" in both and "Reason stability" in both
    assert both.index("Compliance report") < both.index("Model change and reason governance")


# ------------------------------------------------------------------------------------------------------- CLI
def test_the_command_writes_the_same_json_as_the_library(bundles, inputs, report, tmp_path):
    from typer.testing import CliRunner

    from explain.cli import app

    old, new = bundles
    out, changes = tmp_path / "governance.json", tmp_path / "changes.jsonl"
    result = CliRunner().invoke(app, [
        "compare", "--old", str(old.path), "--new", str(new.path), "--input", str(inputs["accounts"]),
        "--decisions", str(inputs["decisions"]), "--out", str(out), "--format", "json", "--chunk-size", str(CHUNK),
        "--stability", "--background", f"shifted={inputs['shifted']}", "--protected", "sex", "--protected", "cohort",
        "--replicates", "300", "--seed", "11", "--listed", "1000", "--changes-out", str(changes)])
    assert result.exit_code == 0, result.output
    assert out.read_text("utf-8") == report[0].to_json()
    assert [json.loads(line) for line in changes.read_text("utf-8").splitlines()] == report[1]
    html = tmp_path / "governance.html"
    result = CliRunner().invoke(app, ["compare", "--old", str(old.path), "--new", str(new.path), "--input",
                                      str(inputs["accounts"]), "--decisions", str(inputs["decisions"]), "--out",
                                      str(html), "--locale", "en"])
    assert result.exit_code == 0, result.output
    assert "<h1>Model governance report</h1>" in html.read_text("utf-8")


def test_the_command_names_a_protected_column_that_is_not_there(bundles, inputs, tmp_path):
    from typer.testing import CliRunner

    from explain.cli import app

    old, new = bundles
    result = CliRunner().invoke(app, [
        "compare", "--old", str(old.path), "--new", str(new.path), "--input", str(inputs["accounts"]),
        "--decisions", str(inputs["decisions"]), "--out", str(tmp_path / "x.json"), "--protected", "gender"])
    assert result.exit_code == 2
    assert ("The '--protected' must be a column of the accounts file (account, income, utilisation, tenure, age, "
            "sex, cohort). Got 'gender' instead.") in " ".join(result.output.split())
    assert not (tmp_path / "x.json").exists()


def test_the_dask_engine_gives_the_same_report(bundles, inputs, report):
    pytest.importorskip("distributed")
    old, new = bundles
    on_dask = compare_bundles(old, new, accounts=inputs["accounts"], decisions=inputs["decisions"], chunk_size=CHUNK,
                              stability=True, backgrounds={"shifted": inputs["shifted"]}, protected=("sex", "cohort"),
                              replicates=300, seed=11, listed=1000, engine="dask", workers=2)
    assert on_dask.to_json() == report[0].to_json()


def test_the_interval_is_the_documented_poisson_bootstrap(report, direct):
    """Recomputed from the recipe in the module's docstring: chunk i's rows weighted by Poisson(1) draws of
    default_rng(SeedSequence(seed, spawn_key=(i,))), one column per replicate; the 2.5% and 97.5% quantiles."""
    result, _ = report
    replicates, seed = 300, 11
    weights = np.vstack([
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,))).poisson(1.0, (min(CHUNK, len(direct) - i * CHUNK), replicates))
        for i in range(-(-len(direct) // CHUNK))])
    has = np.array([("utilisation" in r.codes) for r in direct.new], dtype=float)
    decrease = (direct.decision == "limit_decrease").to_numpy()
    mine, rest = decrease & (direct.sex == "F").to_numpy(), decrease & (direct.sex != "F").to_numpy()
    gaps = (weights[mine].T @ has[mine]) / weights[mine].sum(axis=0) - (weights[rest].T @ has[rest]) / weights[rest].sum(axis=0)
    expected = np.quantile(gaps, [0.025, 0.975])
    figure = result.disparity["by_kind"]["limit_decrease"]["sex"]["F"]["metrics"]["reason_share:utilisation"]
    assert figure["ci"] == pytest.approx(expected.tolist(), abs=1e-12)


@pytest.mark.parametrize("kind", [d.value for d in Decision])
def test_the_reasons_compared_are_the_reasons_a_notice_carries(bundle, kind):
    """The comparison's own reason selection equals Explainer.reasons on the demo's trees (groups of several
    features, categories, counter-intuitive flags), policy reasons included."""
    from explain import demo_data
    from explain.governance._explained import outcomes

    X = demo_data()  # all 1,000: a counter-intuitive reason is rare under the demo's monotone model
    policy = ("overdue_repayment",) if kind == "account_closure" else ()
    expected = bundle.explainer().reasons(X, decision=kind, policy_reasons=policy)
    found = outcomes(bundle.explainer(), X, kind, policy)
    assert [o.shown for o in found] == [tuple((r.code, r.feature, r.counter_intuitive) for r in e.reasons)
                                        for e in expected]
    assert [o.score for o in found] == [e.score for e in expected]
    assert all(list(o.contributions) == list(e.group_contributions.values()) for o, e in zip(found, expected, strict=True))
    assert any(flag for o in found for _, _, flag in o.shown)  # the judgment is exercised


def test_issued_decisions_are_judged_from_their_audit_records(bundles, inputs, report, tmp_path):
    """The new bundle's decisions issued by ``explain batch`` into a store: their stability recomputed from
    the records alone agrees with the comparison's, account by account."""
    from explain.audit._store import AuditStore
    from explain.batch import run_batch
    from explain.governance import record_stability

    _, new = bundles
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    run_batch(bundle=str(new.path), input=inputs["accounts"], decisions=inputs["decisions"],
              out=tmp_path / "notices.parquet", locales=("en",), chunk_size=200, store_url=url, progress=False,
              ignore=("sex", "cohort"))  # the protected columns the governance run reads are not model inputs
    store = AuditStore(url)
    try:
        records = list(store.iter_records())
    finally:
        store.close()
    judged = record_stability(new, records, backgrounds={"shifted": pd.read_csv(inputs["shifted"])}, listed=1000,
                              batch_size=100)
    stored = {r.account_ref for r in records}
    assert judged["accounts"] == len(records) > 400 and judged["not_judged"] == 0
    unstable = {row["account"] for row in judged["unstable_accounts"]}
    expected = {row["account"] for row in report[0].stability["unstable_accounts"]} & stored
    assert unstable == expected and inputs["tie"] in unstable and inputs["clear"] not in unstable
    by_id = {r.decision_id: r for r in records}
    assert all(by_id[row["decision_id"]].account_ref == row["account"] for row in judged["unstable_accounts"])


def test_missing_feature_columns_are_named_before_any_work(bundles, inputs, tmp_path):
    from explain import InvalidInputError

    old, new = bundles
    accounts = pd.read_csv(inputs["accounts"]).drop(columns=["tenure"])
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    with pytest.raises(InvalidInputError, match=r"The '--input' must be a file with every feature the two bundles take \(missing tenure\)"):
        compare_bundles(old, new, accounts=tmp_path / "accounts.csv", decisions=inputs["decisions"])
    pd.read_csv(inputs["shifted"]).drop(columns=["age"]).to_csv(tmp_path / "bg.csv", index=False)
    with pytest.raises(InvalidInputError, match="missing age"):
        compare_bundles(old, new, accounts=inputs["accounts"], decisions=inputs["decisions"], stability=True,
                        backgrounds={"partial": tmp_path / "bg.csv"})


def test_the_package_exports_a_pinned_sorted_list():
    import explain.governance as governance

    assert governance.__all__ == sorted(governance.__all__, key=lambda n: (not n.isupper(), n))
    assert governance.__all__ == ["ENGINES", "Alternative", "GovernanceReport", "alternatives", "approved",
                                  "compare_bundles", "cutoff_reference", "record_stability", "render_governance"]
    assert all(getattr(governance, name) is not None for name in governance.__all__)


def test_a_chunk_of_mixed_kinds_gets_each_kind_s_own_reasons(bundle):
    """One attribution call for the whole chunk, reasons chosen per kind: the same as Explainer.reasons called
    per kind; a row with text in a number column is an error naming it, and holds no other row back."""
    from explain import demo_data
    from explain.governance._explained import explain_rows

    X = demo_data().iloc[:120].copy()
    kinds = [d.value for d in Decision]
    chosen = [kinds[i % len(kinds)] for i in range(len(X))]
    policies = [("overdue_repayment",) if k == "account_closure" else () for k in chosen]
    X["credit_amount"] = X["credit_amount"].astype(object)
    X.loc[7, "credit_amount"] = "lots"
    found = explain_rows(bundle.explainer(), bundle.background, X, chosen, policies)
    assert set(found.errors) == {7} and found.errors[7][0] == "features.credit_amount"
    for kind in kinds:
        rows = [i for i in X.index if chosen[i] == kind and i != 7]
        clean = X.loc[rows].astype({"credit_amount": float})
        expected = bundle.explainer().reasons(clean, decision=kind, policy_reasons=policies[rows[0]])
        assert [found.results[i].shown for i in rows] == [
            tuple((r.code, r.feature, r.counter_intuitive) for r in e.reasons) for e in expected]
        assert [found.results[i].score for i in rows] == [e.score for e in expected]
