"""render_notice: required content, reason phrasing, escaping, determinism and clear errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from explain import (
    TranslationError,
    CatalogError,
    Decision,
    FeatureCatalog,
    NoticeInputError,
    Reason,
    UnknownDecisionError,
    UnknownReasonError,
    UnsupportedLocaleError,
)
from explain.notices._formatting import format_date, format_money
from explain.notices._notices import Notice, reason_phrases, render_notice
from explain.notices._profile import LenderProfile, demo_profile

from notice_support import model_reason, policy_reason

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("zh_CN", "en")
NOTICE_DATE = dt.date(2026, 12, 1)

@pytest.fixture
def adverse_reasons(catalog) -> list[Reason]:
    return [
        policy_reason(catalog, "overdue_repayment"),
        Reason("repayment_history", "model", "adverse", 0.5, "credit_history", "delay in paying off in the past",
               "category", 90.0, True),
        Reason("loan_term", "model", "adverse", 0.3, "duration_in_month", 48, "months", 85.0, True),
        # Not actionable in this call although the group has advice: no advice may be printed for it.
        Reason("amount_borrowed", "model", "adverse", 0.2, "credit_amount", 5951, "money", 70.0, False),
    ]


@pytest.fixture
def decrease(adverse_reasons, catalog):
    def make(locale: str = "en", **overrides) -> Notice:
        kwargs = dict(locale=locale, catalog=catalog, profile=demo_profile(), old_limit=20000, new_limit=8000, account_ref="6222-0001",
                      notice_date=NOTICE_DATE)
        kwargs.update(overrides)
        return render_notice("limit_decrease", adverse_reasons, **kwargs)

    return make


# ------------------------------------------------------------------------------------------ required content
@pytest.mark.parametrize("locale", LOCALES)
def test_letter_carries_every_required_element(decrease, locale):
    notice = decrease(locale)
    profile = demo_profile()
    effective = NOTICE_DATE + dt.timedelta(days=profile.notice_period_days)
    deadline = NOTICE_DATE + dt.timedelta(days=profile.review_window_days)
    required = [
        profile.display_name(locale),
        format_date(NOTICE_DATE, locale=locale),
        "6222-0001",
        format_money(20000, "CNY", locale=locale),
        format_money(8000, "CNY", locale=locale),
        format_date(effective, locale=locale),
        format_date(deadline, locale=locale),
        profile.phone,
        profile.email,
        notice.reference,
    ]
    words = {
        "en": ["lowering the credit limit", "automated system", "explain this decision", "refuse a decision made solely",
               "a member of our staff to review it", "Personal Information Protection Law", "12378",
               "Paying the overdue amount now will help.", "Paying every bill on time will help.",
               "Choosing a shorter term for new loans will help.", "Your loan runs for 48 months, which is long."],
        "zh_CN": ["下调至", "自动化系统", "予以说明", "拒绝我行仅通过自动化决策方式作出决定", "人工复核", "个人信息保护法",
                  "12378", "尽快偿还逾期款项", "按时偿还每一笔欠款", "今后申请贷款时选择较短的期限",
                  "您的贷款期限为48个月"],
    }[locale]
    for part in (notice.text, notice.html):
        for item in required + words:
            assert item in part, item
    # Advice only for reasons flagged actionable: amount_borrowed was not, in this call.
    assert ("Paying down what you owe" in notice.text) is False
    assert ("逐步减少欠款余额" in notice.text) is False
    assert notice.subject and "\n" not in notice.subject
    assert notice.reasons == ("overdue_repayment", "repayment_history", "loan_term", "amount_borrowed")
    assert notice.locale == locale and notice.decision == "limit_decrease"


@pytest.mark.parametrize("locale", LOCALES)
def test_all_decision_kinds_render(catalog, locale):
    adverse = [model_reason(catalog, "loan_term")]
    favourable = [model_reason(catalog, "loan_term", "favourable")]
    cases = [("limit_decrease", adverse, 20000, 8000), ("account_closure", adverse, 20000, 0),
             ("increase_declined", adverse, 20000, 30000), ("limit_increase", favourable, 20000, 30000),
             ("increases_suspended", adverse, 20000, 20000), ("increases_suspended", adverse, 20000, 12000)]
    subjects = set()
    for kind, reasons, old, new in cases:
        notice = render_notice(kind, reasons, locale=locale, catalog=catalog, profile=demo_profile(), old_limit=old, new_limit=new,
                               account_ref="1", notice_date=NOTICE_DATE)
        subjects.add(notice.subject)
        if kind == "account_closure":  # a closure closes: it speaks of no limit at all
            assert "¥" not in notice.text and ("关闭" in notice.text or "closing your account" in notice.text)
        else:
            assert format_money(old, "CNY", locale=locale) in notice.text
            assert format_money(new, "CNY", locale=locale) in notice.text
    assert len(subjects) == 5  # a suspension has one subject, whether or not the limit is lowered too


def test_increase_without_reasons_has_no_empty_reasons_section(catalog):
    notice = render_notice("limit_increase", [], locale="en", catalog=catalog, profile=demo_profile(), old_limit=1000, new_limit=2000,
                           account_ref="1", notice_date=NOTICE_DATE)
    assert "These are the main reasons" not in notice.text and "Why we made" not in notice.html
    assert "Info: example.com/r" in notice.short  # an increase points to the link


def test_increase_has_no_advice(catalog):
    reasons = [model_reason(catalog, "savings", "favourable")]
    notice = render_notice("limit_increase", reasons, locale="en", catalog=catalog, profile=demo_profile(), old_limit=1000, new_limit=2000,
                           account_ref="1", notice_date=NOTICE_DATE)
    assert "What you can do" not in notice.text
    assert "These factors worked in your favor most:" in notice.text


def test_accepts_decision_reasons_from_the_explainer(bundle):
    from explain import demo_data

    result = bundle.explainer().reasons(demo_data().iloc[[1]], decision="limit_decrease")[0]
    notice = render_notice(Decision.LIMIT_DECREASE, result, locale="zh_CN", catalog=bundle.catalog, profile=bundle.profile,
                           old_limit=20000, new_limit=8000, account_ref="1", notice_date=NOTICE_DATE)
    assert notice.reasons == result.codes
    with pytest.raises(NoticeInputError, match="'decision'"):
        render_notice("account_closure", result, locale="en", catalog=bundle.catalog, profile=bundle.profile, old_limit=1, new_limit=0,
                      account_ref="1", notice_date=NOTICE_DATE)


# ---------------------------------------------------------------------------------------- reason phrasing
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("effect", ["adverse", "favourable"])
def test_every_group_and_policy_reason_is_phrased(catalog, locale, effect):
    seen = 0
    for code in catalog.groups:
        phrased = reason_phrases(model_reason(catalog, code, effect), locale=locale, catalog=catalog)
        _check_phrase(phrased["text"], locale, catalog)
        seen += 1
    for code, entry in catalog.policy_reasons.items():
        if effect == "favourable" and entry.favourable is None:
            with pytest.raises(NoticeInputError, match="no favourable phrase"):
                reason_phrases(policy_reason(catalog, code, effect), locale=locale, catalog=catalog)
            continue
        phrased = reason_phrases(policy_reason(catalog, code, effect), locale=locale, catalog=catalog)
        _check_phrase(phrased["text"], locale, catalog)
        assert (phrased["advice"] is not None) == bool(entry.actionable and entry.advice)
        seen += 1
    assert seen >= len(catalog.groups) + 1


def _check_phrase(text: str, locale: str, catalog: FeatureCatalog) -> None:
    assert text and "{" not in text and "}" not in text
    for column in catalog.features:
        # Identifier-like names only: "purpose" or "housing" are also plain English words.
        if "_" in column:
            assert column not in text
    if locale == "zh_CN":
        assert re.search(r"[\u4e00-\u9fff]", text) and not re.search(r"[A-Za-z]", text), text
        assert text.endswith("\u3002")
    else:
        assert text[0].isupper() and text.endswith(".")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_model_group_renders_in_a_notice(catalog, locale):
    codes = [c for c, g in catalog.groups.items() if not g.protected]
    for start in range(0, len(codes), catalog.top):
        chunk = codes[start:start + catalog.top]
        for kind, effect, new in (("limit_decrease", "adverse", 8000), ("limit_increase", "favourable", 30000)):
            notice = render_notice(kind, [model_reason(catalog, c, effect) for c in chunk], locale=locale,
                                   catalog=catalog, profile=demo_profile(), old_limit=20000, new_limit=new, account_ref="1",
                                   notice_date=NOTICE_DATE)
            for code in chunk:
                text = reason_phrases(model_reason(catalog, code, effect), locale=locale, catalog=catalog)["text"]
                assert text in notice.text


@pytest.mark.parametrize("locale", LOCALES)
def test_every_policy_reason_renders_in_a_notice(catalog, locale):
    for code in catalog.policy_reasons:
        notice = render_notice("account_closure", [policy_reason(catalog, code)], locale=locale, catalog=catalog, profile=demo_profile(),
                               old_limit=5000, new_limit=0, account_ref="1", notice_date=NOTICE_DATE)
        assert notice.reasons == (code,)
    notice = render_notice("limit_increase", [policy_reason(catalog, "portfolio_tightening", "favourable")],
                           locale=locale, catalog=catalog, profile=demo_profile(), old_limit=5000, new_limit=6000, account_ref="1",
                           notice_date=NOTICE_DATE)
    assert notice.reasons == ("portfolio_tightening",)


def test_value_in_the_customer_phrase_not_the_raw_category(catalog):
    phrased = reason_phrases(model_reason(catalog, "current_account"), locale="en", catalog=catalog)
    assert phrased["text"] == "Your checking account is overdrawn."  # a whole sentence, not "label: value"
    phrased = reason_phrases(model_reason(catalog, "current_account"), locale="zh_CN", catalog=catalog)
    assert phrased["text"] == "您的活期账户已透支\u3002"
    assert phrased["label"] == "活期账户"


# --------------------------------------------------------------------------------------------- escaping
def test_html_escapes_profile_and_account_values(adverse_reasons, catalog):
    profile = dataclasses.replace(demo_profile(), name="<script>alert(1)</script> Bank", names={},
                                  email="a&b@example.com", source="")
    notice = render_notice("limit_decrease", adverse_reasons, locale="en", profile=profile, catalog=catalog,
                           old_limit=20000, new_limit=8000, account_ref='<img src=x onerror="x">',
                           notice_date=NOTICE_DATE)
    assert "<script>" not in notice.html and "<img" not in notice.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Bank" in notice.html
    assert "&lt;img src=x onerror=&#34;x&#34;&gt;" in notice.html
    assert "a&amp;b@example.com" in notice.html
    # Plain text is not HTML: it keeps the characters as they are.
    assert "<script>alert(1)</script> Bank" in notice.text
    assert notice.html.count("<p>") >= 5  # the template's own markup is intact


def test_html_escapes_category_phrases_and_chinese(adverse_reasons, catalog):
    notice = render_notice("limit_decrease", adverse_reasons, locale="zh_CN", catalog=catalog, profile=demo_profile(), old_limit=20000,
                           new_limit=8000, account_ref="A&B", notice_date=NOTICE_DATE)
    assert "A&amp;B" in notice.html and '<html lang="zh-Hans-CN">' in notice.html


# -------------------------------------------------------------------------------------------- determinism
def test_same_inputs_same_bytes(decrease):
    assert decrease("zh_CN") == decrease("zh_CN")
    assert decrease("en").to_json() == decrease("en").to_json()


_SCRIPT = """
import datetime as dt, hashlib, sys
sys.path.insert(0, {root!r})
from explain import Reason, FeatureCatalog
from explain.notices._notices import render_notice, DEMO_CATALOG_PATH
from explain.notices._profile import demo_profile
catalog = FeatureCatalog.from_toml(DEMO_CATALOG_PATH)
reasons = [Reason("overdue_repayment", "policy", "adverse", actionable=True),
           Reason("loan_term", "model", "adverse", 0.3, "duration_in_month", 48, "months", 85.0, True)]
for locale in ("zh_CN", "en"):
    n = render_notice("limit_decrease", reasons, locale=locale, catalog=catalog, profile=demo_profile(), old_limit=20000, new_limit=8000,
                      account_ref="6222-0001", notice_date=dt.date(2026, 12, 1))
    print(hashlib.sha256(n.to_json().encode("utf-8")).hexdigest())
"""


def test_same_bytes_across_processes(tmp_path):
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", _SCRIPT.format(root=str(ROOT))], capture_output=True,
                             text=True, env=env, cwd=tmp_path, check=True)
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1] and len(outputs[0].split()) == 2


def test_to_dict_and_json(decrease):
    notice = decrease("zh_CN")
    data = notice.to_dict()
    assert set(data) == {"subject", "text", "html", "short", "locale", "channel", "decision", "reasons",
                         "reference", "template_version"}
    assert json.loads(notice.to_json()) == data
    assert "示例银行" in notice.to_json()  # not \\u-escaped


def test_template_version_covers_locale_and_profile(decrease):
    en, zh = decrease("en"), decrease("zh_CN")
    assert re.fullmatch(r"[0-9a-f]{64}", en.template_version)
    assert en.template_version != zh.template_version
    other = dataclasses.replace(demo_profile(), phone="400-111-1111", source="")
    assert decrease("en", profile=other).template_version != en.template_version


def test_reference_is_the_same_in_both_languages_and_can_be_given(decrease):
    assert decrease("en").reference == decrease("zh_CN").reference
    assert re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}", decrease("en").reference)
    given = decrease("en", reference="CASE-42")
    assert given.reference == "CASE-42" and "CASE-42" in given.text


def test_channel_selects_the_body(decrease):
    assert decrease("en", channel="short").body == decrease("en").short
    assert decrease("en").body == decrease("en").text


def test_default_dates(adverse_reasons, catalog):
    notice = render_notice("limit_decrease", adverse_reasons, locale="en", catalog=catalog, profile=demo_profile(), old_limit=2, new_limit=1,
                           account_ref="1")
    assert format_date(dt.date.today(), locale="en") in notice.text


# --------------------------------------------------------------------------------------------- bad inputs
def test_unknown_decision_kind(adverse_reasons):
    with pytest.raises(UnknownDecisionError, match="'limit_increase', 'limit_decrease'.*Got 'limit_cut'"):
        render_notice("limit_cut", adverse_reasons, locale="en", old_limit=2, new_limit=1, account_ref="1")


@pytest.mark.parametrize(
    ("kind", "old", "new", "match"),
    [
        ("limit_decrease", 8000, 20000, "'new_limit' must be below the old limit"),
        ("limit_decrease", 8000, 8000, "'new_limit' must be below the old limit"),
        ("limit_increase", 8000, 5000, "'new_limit' must be above the old limit"),
        ("increase_declined", 8000, 8000, "'new_limit' must be the requested limit"),
        ("account_closure", 8000, 100, "'new_limit' must be 0 for an account_closure"),
        ("increases_suspended", 8000, 9000, r"'new_limit' must be the old limit \(8000\) to keep it, or a lower one"),
        ("increases_suspended", 8000, 0, r"'new_limit' must be above 0 for an increases_suspended \(a limit of 0 is an "),
        ("limit_decrease", -5, -10, "'old_limit' must be zero or more"),
        ("limit_decrease", 500, -10, "'new_limit' must be zero or more"),
        ("limit_decrease", float("nan"), 1, "'old_limit' must be a finite amount"),
        ("limit_decrease", "20000", 1, "'old_limit' must be an amount of money"),
        ("limit_decrease", True, 0, "'old_limit' must be an amount of money"),
    ],
)
def test_bad_limits(catalog, kind, old, new, match):
    effect = "favourable" if kind == "limit_increase" else "adverse"
    with pytest.raises(NoticeInputError, match=match):
        render_notice(kind, [model_reason(catalog, "loan_term", effect)], locale="en", catalog=catalog, profile=demo_profile(),
                      old_limit=old, new_limit=new, account_ref="1", notice_date=NOTICE_DATE)


def test_unknown_policy_reason(catalog):
    bad = Reason("alien_invasion", "policy", "adverse")
    with pytest.raises(UnknownReasonError, match="'alien_invasion'.*'account_inactivity'"):
        render_notice("limit_decrease", [bad], locale="en", catalog=catalog, profile=demo_profile(), old_limit=2, new_limit=1, account_ref="1")


def test_unknown_model_group(catalog):
    with pytest.raises(UnknownReasonError, match="'shoe_size'"):
        render_notice("limit_decrease", [Reason("shoe_size", "model", "adverse")], locale="en", catalog=catalog, profile=demo_profile(),
                      old_limit=2, new_limit=1, account_ref="1")


@pytest.mark.parametrize("locale", ["fr", "en-GB", "zh-Hant"])
def test_unsupported_locale(adverse_reasons, locale):
    with pytest.raises(UnsupportedLocaleError, match="'zh_CN', 'en'"):
        render_notice("limit_decrease", adverse_reasons, locale=locale, old_limit=2, new_limit=1, account_ref="1")


def test_protected_group_is_never_a_reason(catalog):
    with pytest.raises(NoticeInputError, match="no protected group.*'age'"):
        render_notice("limit_decrease", [model_reason(catalog, "age")], locale="en", catalog=catalog, profile=demo_profile(),
                      old_limit=2, new_limit=1, account_ref="1")


def test_reason_effect_must_match_the_decision(catalog):
    with pytest.raises(NoticeInputError, match="'adverse' for a limit_decrease"):
        render_notice("limit_decrease", [model_reason(catalog, "savings", "favourable")], locale="en",
                      catalog=catalog, profile=demo_profile(), old_limit=2, new_limit=1, account_ref="1")


def test_adverse_decision_needs_a_reason(catalog):
    with pytest.raises(NoticeInputError, match="at least one reason"):
        render_notice("account_closure", [], locale="en", catalog=catalog, profile=demo_profile(), old_limit=2, new_limit=0, account_ref="1")


def test_at_most_top_reasons(catalog):
    reasons = [model_reason(catalog, c) for c in ("loan_term", "savings", "current_account", "employment",
                                                   "household")]
    with pytest.raises(NoticeInputError, match=f"at most {catalog.top}"):
        render_notice("limit_decrease", reasons, locale="en", catalog=catalog, profile=demo_profile(), old_limit=2, new_limit=1,
                      account_ref="1")


def test_reason_without_its_value(catalog):
    bare = Reason("loan_term", "model", "adverse", 0.3, "duration_in_month", None, "months", None, True)
    with pytest.raises(NoticeInputError, match="'features.duration_in_month' must be a value: the reason 'loan_term'"):
        render_notice("limit_decrease", [bare], locale="en", catalog=catalog, profile=demo_profile(), old_limit=2, new_limit=1,
                      account_ref="1")


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"effective_date": dt.date(2026, 11, 1)}, "'effective_date' must be on or after"),
        ({"notice_date": dt.datetime(2026, 12, 1, 9)}, "'notice_date' must be a date"),
        ({"account_ref": " "}, "'account_ref' must be a visible account reference.*U\\+0020 SPACE at position 1"),
        ({"account_ref": "a\nb"}, "'account_ref' must be a visible account reference.*U\\+000A"),
        ({"currency": "XYZ1"}, "'currency' must be an ISO 4217"),
        ({"channel": "fax"}, "'channel' must be one of 'letter', 'short'"),
        ({"profile": {"name": "x"}}, "'profile' must be a LenderProfile"),
    ],
)
def test_bad_notice_inputs(decrease, overrides, match):
    with pytest.raises(NoticeInputError, match=match):
        decrease("en", **overrides)


def test_catalog_phrases_missing_from_the_translations(tmp_path):
    """A reworded phrase without a translation fails when the catalog is loaded, never at render time."""
    import shutil

    from explain.notices._profile import DEMO_LENDER_DIR

    lender = tmp_path / "lender"
    shutil.copytree(DEMO_LENDER_DIR, lender)
    source = (lender / "catalog.toml").read_text("utf-8")
    (lender / "catalog.toml").write_text(source.replace("Your loan runs for {value}, which is long.",
                                                        "Your loan of {value} counted against you."), "utf-8")
    with pytest.raises(TranslationError) as info:
        FeatureCatalog.from_toml(lender / "catalog.toml")
    # every locale the demo lender translates (zh_CN and en always; it also keeps zh_HK and zh_TW)
    assert {(locale, problem) for locale, _, problem in info.value.problems} == {
        ("zh_CN", "missing"), ("en", "missing"), ("zh_HK", "missing"), ("zh_TW", "missing")}
    assert "Your loan of {value}" in str(info.value) and "groups:loan_term:adverse" in str(info.value)



# ---------------------------------------------------------------------------------------------- profiles
def test_demo_profile_loads():
    profile = demo_profile()
    assert profile.display_name("zh-CN") == "示例银行" and profile.display_name("en") == "Example Bank"
    assert re.fullmatch(r"[0-9a-f]{64}", profile.sha256)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d["contact"].pop("phone"), "'profile phone'"),
        (lambda d: d["review"].update(window_days=0), "'profile review_window_days'"),
        (lambda d: d["review"].update(window_days="30"), "'profile review_window_days'"),
        (lambda d: d.update(wording={"slogan": "x"}), "'profile wording slogan'"),
        (lambda d: d.update(wording={"escalation": " "}), "'profile wording escalation'"),
        (lambda d: d["lender"].update(jurisdiction="UK"), "'profile lender.jurisdiction' must be one of CN, US, EU"),
        (lambda d: d["legal"].pop("regulator"), "'profile legal.regulator' must be given"),
        (lambda d: d["legal"]["regulator"].pop("en"), "a name for every locale \\(missing: en\\)"),
        (lambda d: d["lender"].update(jurisdiction="US"), "'profile legal.complaint_channel' must be one of"),
        (lambda d: (d["lender"].update(jurisdiction="US"), d["lender"].pop("address"),
                    d.update(legal={"agency": "CFPB", "agency_address": "DC"})), "'profile lender.address'"),
        (lambda d: (d["lender"].update(jurisdiction="US"),
                    d.update(legal={"agency": "CFPB", "agency_address": "DC", "bureau_data": True})),
         "'profile legal.bureau' must be given"),
        (lambda d: d["lender"]["names"].update(fr="Banque"), "profile \\[lender.names\\] locale"),
    ],
)
def test_bad_profiles(edit, match):
    import tomllib

    from explain.notices._profile import DEMO_PROFILE_PATH

    data = tomllib.loads(DEMO_PROFILE_PATH.read_text("utf-8"))
    edit(data)
    with pytest.raises((NoticeInputError, UnsupportedLocaleError), match=match):
        LenderProfile.from_dict(data)


def test_profile_from_a_bad_file(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("[lender\n", "utf-8")
    with pytest.raises(NoticeInputError, match="valid TOML"):
        LenderProfile.from_toml(path)
    with pytest.raises(NoticeInputError, match="readable TOML file"):
        LenderProfile.from_toml(tmp_path / "missing.toml")


def test_hash_of_a_profile_built_in_code_is_stable():
    a = LenderProfile(name="B", phone="1", email="e", url="u", short_url="s", wording=demo_profile().wording,
                      sms_signatures={"zh_CN": "乙"})
    b = LenderProfile(name="B", phone="1", email="e", url="u", short_url="s", wording=demo_profile().wording,
                      sms_signatures={"zh_CN": "乙"})
    assert a.sha256 == b.sha256 == hashlib.sha256(a.source.encode()).hexdigest()
