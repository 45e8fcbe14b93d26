"""The fifth decision kind, increases_suspended (关闭提额), end to end in the toolkit.

What it must get right beyond the goldens (tests/golden/notices/increases_suspended, the US and EU packs in
tests/golden/jurisdictions): the reasons go the adverse way; the letter tells the truth whether the limit is
kept or lowered too, and promises a review date only when the lender gave one; contradicting inputs are
refused naming the field (the notice, the CLI with exit 2, the batch errors file); the legal blocks it carries
are the pack data's; the fast writer, the CLI, batch and replay give the same bytes as ``render_notice``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from explain import Decision, NoticeInputError, demo_bundle, demo_data, render_notice
from explain.cli import app
from explain.notices._jurisdiction import LEGAL_BLOCKS, legal_blocks
from explain.notices._skeletons import NoticeWriter

KIND = "increases_suspended"
NOTICE_DATE = dt.date(2026, 12, 1)
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "notices" / KIND


@pytest.fixture(scope="module")
def sample(bundle):
    """60 demo accounts' reasons for a suspension (policy reason first) and, for comparison, a decrease."""
    X = demo_data().iloc[:60]
    explainer = bundle.explainer()
    suspended = explainer.reasons(X, decision=KIND, policy_reasons=("overdue_repayment",))
    decreased = explainer.reasons(X, decision="limit_decrease", policy_reasons=("overdue_repayment",))
    return suspended, decreased


def test_the_reasons_go_the_adverse_way(bundle, sample):
    assert Decision.parse(KIND).is_adverse
    protected = {code for code, group in bundle.catalog.groups.items() if group.protected}
    for suspended, decreased in zip(*sample):
        assert suspended.decision is Decision.INCREASES_SUSPENDED
        assert 1 <= len(suspended.reasons) <= 4 and suspended.reasons[0].code == "overdue_repayment"
        assert all(r.effect == "adverse" for r in suspended.reasons)
        assert not protected & set(suspended.codes)
        assert suspended.codes == decreased.codes  # the same direction as a decrease: the same principal reasons


def _render(reasons, locale, new_limit=20000, **extra):
    bundle = demo_bundle()
    return render_notice(KIND, reasons, locale=locale, catalog=bundle.catalog, profile=bundle.profile,
                         old_limit=20000, new_limit=new_limit, account_ref="000001", notice_date=NOTICE_DATE, **extra)


def test_the_letter_is_true_whether_the_limit_is_kept_or_lowered(sample):
    suspended, _ = sample
    writer = NoticeWriter()
    bundle = demo_bundle()
    for i, reasons in enumerate(suspended):
        for new_limit, review in ((20000, dt.date(2027, 6, 1)), (12000, None)):
            arguments = dict(locale="zh_CN", catalog=bundle.catalog, profile=bundle.profile, old_limit=20000,
                             new_limit=new_limit, account_ref=f"{i:06d}", notice_date=NOTICE_DATE, review_date=review)
            zh = writer.render(KIND, reasons, **arguments)
            en = writer.render(KIND, reasons, **{**arguments, "locale": "en"})
            if i < 3:  # the skeletons give render_notice's bytes, review date slotted or absent
                assert zh == render_notice(KIND, reasons, **arguments)
            assert "我行已暂停提升您账户的信用额度" in zh.text and "We have paused increases" in en.text
            assert "请联系我行，确认" not in zh.text  # the policy reason here is an overdue repayment
            assert "按期" in zh.text or "逾期" in zh.text  # its advice ("paying the overdue amount")
            if new_limit == 20000:
                assert "您的信用额度维持¥20,000.00不变" in zh.text and "Your limit stays at CN¥20,000.00" in en.text
                for words in ("下调", "降至", "新额度"):
                    assert words not in zh.text + zh.short, words
                for words in ("lowering", "new limit", "drops"):
                    assert words not in en.text + en.short, words
                assert "我行将于2027年6月1日后重新评估您的账户。" in zh.text
                assert "We will look at your account again after June 1, 2027." in en.text
                assert "在我行重新评估您的账户之前" not in zh.text
                assert "复核结束后再执行" not in zh.text  # nothing changes on a date, so nothing is held
            else:
                assert "同时，我行将把您的信用额度由¥20,000.00下调至¥12,000.00。" in zh.text
                assert "新额度自2026年12月31日起生效。" in zh.text  # the profile's 30-day notice period
                assert "维持" not in zh.text and "stays at" not in en.text
                assert "在我行重新评估您的账户之前，暂停提额将持续有效。" in zh.text
                assert "The pause stays in place until we look at your account again." in en.text
                assert "2027" not in zh.text + en.text  # no date the lender did not give
                assert "If you ask for a review before the change starts, we will wait for the result." in en.text
            assert "征信" in zh.text and "第十五条" in zh.text  # overdue: the prior notice of article 15


def test_the_review_date_is_part_of_the_reference(sample):
    """A letter that promises a date is a different letter: its reference (the same in every locale) differs."""
    reasons = sample[0][0]
    plain = _render(reasons, "en")
    dated = _render(reasons, "en", review_date=dt.date(2027, 6, 1))
    assert plain.reference != dated.reference
    assert dated.reference == _render(reasons, "zh_CN", review_date=dt.date(2027, 6, 1)).reference


@pytest.mark.parametrize(("arguments", "field", "words"), [
    ({"new_limit": 25000}, "new_limit", "the old limit (20000) to keep it, or a lower one to lower it too"),
    ({"new_limit": 0}, "new_limit", "above 0 for an increases_suspended (a limit of 0 is an account_closure)"),
    ({"review_date": NOTICE_DATE}, "review_date", "after the notice date (2026-12-01)"),
    ({"review_date": "2027-06-01"}, "review_date", "a date (datetime.date)"),
])
def test_contradicting_inputs_are_refused_naming_the_field(sample, arguments, field, words):
    with pytest.raises(NoticeInputError, match=f"'{field}' must be") as caught:
        _render(sample[0][0], "en", **arguments)
    assert caught.value.field == field and words in str(caught.value)


def test_a_review_date_on_another_kind_is_refused(sample):
    with pytest.raises(NoticeInputError, match=r"'review_date' must be nothing for a limit_decrease \(only an "):
        render_notice("limit_decrease", sample[1][0], locale="zh_CN", old_limit=20000, new_limit=8000,
                      account_ref="1", notice_date=NOTICE_DATE, review_date=dt.date(2027, 6, 1),
                      catalog=demo_bundle().catalog, profile=demo_bundle().profile)


def test_the_packs_legal_blocks_for_each_kind_are_data_with_reasons():
    kinds = {d.value for d in Decision}
    for pack, blocks in LEGAL_BLOCKS.items():
        for block in blocks:
            assert set(block.kinds) <= kinds and block.rule and len(block.why) > 80, block
    adverse = {d.value for d in Decision if d.is_adverse}
    assert {k for k in kinds if "ecoa" in legal_blocks("US", k)} == adverse
    assert {k for k in kinds if "fcra" in legal_blocks("US", k)} == adverse
    assert {k for k in kinds if "credit_report" in legal_blocks("CN", k)} == adverse
    assert {k for k in kinds if "ccd_art18" in legal_blocks("EU", k)} == {"increase_declined"}
    assert "1002.2(c)(2)(ii)" in LEGAL_BLOCKS["US"][0].why  # the exclusion weighed, and why it is still given


def test_cli_notice_writes_the_golden_and_refuses_contradictions_with_exit_2(bundle):
    base = ["notice", "--bundle", "demo", "--account", "44", "--decision", KIND, "--old-limit", "20000",
            "--policy-reason", "unusual_account_activity", "--notice-date", "2026-12-01"]
    result = CliRunner().invoke(app, [*base, "--new-limit", "20000", "--review-date", "2027-06-01", "--locale", "zh_CN"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    subject = (GOLDEN / "zh_CN" / "subject.txt").read_text("utf-8").strip()
    assert result.stdout == f"{subject}\n\n{(GOLDEN / 'zh_CN' / 'letter.txt').read_text('utf-8')}"
    for extra, words in ((["--new-limit", "30000"], "--new-limit: The 'new_limit' must be the old limit"),
                         (["--new-limit", "20000", "--review-date", "2026-11-30"], "--review-date: The 'review_date' "
                                                                                 "must be after the notice date")):
        refused = CliRunner().invoke(app, [*base, *extra, "--locale", "en"])
        assert refused.exit_code == 2, refused.output
        assert words in " ".join(refused.stderr.split()), refused.stderr


def test_batch_writes_the_same_notices_replays_them_and_names_bad_rows(tmp_path, bundle):
    from explain.audit._replay import replay_record
    from explain.audit._store import AuditStore
    from explain.batch import read_output, run_batch

    pytest.importorskip("pyarrow")
    X = demo_data().iloc[:6].reset_index(drop=True)
    accounts = X.copy()
    accounts.insert(0, "account", [f"S{i:05d}" for i in range(6)])
    decisions = pd.DataFrame({
        "account": accounts["account"],
        "decision": [KIND, KIND, KIND, KIND, "limit_decrease", KIND],
        "old_limit": 20000.0,
        "new_limit": [20000.0, 12000.0, 25000.0, 0.0, 8000.0, 20000.0],
        "policy_reasons": "overdue_repayment",
        "review_date": ["2027-06-01", None, None, None, "2027-06-01", "June 2027"],
    })
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    decisions.to_csv(tmp_path / "decisions.csv", index=False)
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    summary = run_batch(bundle="demo", input=tmp_path / "accounts.csv", decisions=tmp_path / "decisions.csv",
                        out=tmp_path / "notices.parquet", locales=("zh_CN", "en"), channels=("letter", "short"),
                        chunk_size=3, notice_date=NOTICE_DATE, store_url=url, progress=False)
    errors = pd.read_csv(summary.errors, dtype={"account": str})
    assert {(r.account, r.field) for r in errors.itertuples()} == {
        ("S00002", "new_limit"), ("S00003", "new_limit"), ("S00004", "review_date"), ("S00005", "review_date")}
    messages = dict(zip(errors["account"], errors["error"]))
    assert "old_limit to keep it, or a lower limit to lower it too" in messages["S00002"]
    assert "only an increases_suspended has one" in messages["S00004"]
    assert "a date as YYYY-MM-DD; got 'June 2027'" in messages["S00005"]

    frame = read_output(tmp_path / "notices.parquet")
    assert sorted(frame["account"].unique()) == ["S00000", "S00001"]
    explainer = bundle.explainer()
    for i, (new_limit, review) in enumerate(((20000.0, dt.date(2027, 6, 1)), (12000.0, None))):
        reasons = explainer.reasons(X.iloc[[i]], decision=KIND, policy_reasons=("overdue_repayment",))[0]
        from explain.recourse import find_recourse

        recourse = find_recourse(bundle, X.iloc[[i]], KIND)
        for locale in ("zh_CN", "en"):
            row = frame[(frame["account"] == f"S{i:05d}") & (frame["locale"] == locale)].iloc[0]
            alone = render_notice(KIND, reasons, locale=locale, old_limit=20000.0, new_limit=new_limit,
                                  account_ref=f"S{i:05d}", notice_date=NOTICE_DATE, catalog=bundle.catalog,
                                  profile=bundle.profile, recourse=recourse, review_date=review)
            assert (row["subject"], row["text"], row["html"], row["short"]) == (
                alone.subject, alone.text, alone.html, alone.short)

    store = AuditStore(url)
    try:
        records = list(store.iter_records())
        assert sorted(r.inputs.get("review_date") or "-" for r in records) == ["-", "2027-06-01"]
        for record in records:
            report = replay_record(bundle, record)
            assert report["identical"] is True, report
    finally:
        store.close()


def test_recourse_against_the_declared_target_and_none_without_one(bundle):
    """The demo lender declares when increases resume (its declined-increase threshold): verified lines in
    both languages. A lender that declares no target for the kind gets no line and no review pointer."""
    import copy
    import dataclasses
    from types import MappingProxyType

    from explain.recourse import find_recourse

    X = demo_data().iloc[[18]]
    reasons = bundle.explainer().reasons(X, decision=KIND)[0]
    found = find_recourse(bundle, X, KIND)
    assert found.status == "found" and found.target == 0.3 and found.suggestions
    zh = _render(reasons, "zh_CN", recourse=found)
    en = _render(reasons, "en", recourse=found)
    assert zh.text.count("您的额度提升很可能不会被暂停。") == len(found.suggestions)
    assert en.text.count("increases to your limit would likely not have been paused.") == len(found.suggestions)
    assert "What you can do" not in en.text  # the verified lines take the static advice's place

    solver = copy.copy(bundle.recourse_solver())
    targets = {k: v for k, v in solver.policy.targets.items() if k != KIND}
    solver.policy = dataclasses.replace(solver.policy, targets=MappingProxyType(targets))
    none = solver.solve(bundle.explainer()._checked(X), KIND)
    assert none.status == "no_target" and not none.needs_review
    plain = _render(reasons, "en", recourse=none)
    assert "What would change this decision" not in plain.text and "would likely not have been paused" not in plain.text
    assert "What you can do" in plain.text  # the catalog's advice, as without recourse


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_a_suspension_that_lowers_the_limit_matches_its_golden(bundle, locale):
    """The other form of the kind, read by a person like the demo goldens: the limit lowered with the pause, an
    overdue repayment (CN: article 15's prior notice), no review date. ``UPDATE_GOLDEN=1`` rewrites it."""
    import os

    reasons = bundle.explainer().reasons(demo_data().iloc[[44]], decision=KIND,
                                         policy_reasons=("overdue_repayment",))[0]
    notice = render_notice(KIND, reasons, locale=locale, catalog=bundle.catalog, profile=bundle.profile,
                           old_limit=20000, new_limit=12000, account_ref="000044", notice_date=NOTICE_DATE)
    folder = Path(__file__).resolve().parents[1] / "golden" / "increases_suspended_lowered" / locale
    for name, actual in (("letter.txt", f"{notice.subject}\n\n{notice.text}"), ("short.txt", notice.short + "\n")):
        if os.environ.get("UPDATE_GOLDEN") == "1":
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(actual.encode("utf-8"))
        assert (folder / name).is_file(), f"missing golden {folder / name}; run with UPDATE_GOLDEN=1 and review it"
        assert actual == (folder / name).read_bytes().decode("utf-8")
