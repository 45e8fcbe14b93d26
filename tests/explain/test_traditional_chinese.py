"""Traditional Chinese: the zh_HK and zh_TW locales and the HK and TW jurisdiction packs.

Golden files pin every kind x locale x part of each pack (``tests/golden/jurisdictions/{hk,tw}/<kind>/<locale>/``;
``UPDATE_GOLDEN=1`` rewrites them: read the diff as a bilingual compliance reviewer would). The element tests
say what each pack must carry, which regional words each locale must use, and which Simplified or mainland
forms must never reach a Hong Kong or Taiwan customer (the catalogs were drafted by OpenCC and reviewed: these
tests pin the review).
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from notice_support import en_sentences, fk_grade, word_count, zh_sentences

from explain import NoticeInputError, demo_data, negotiate, render_notice
from explain.commands._cli_notice import DEMO_CASES, DEMO_NOTICE_DATE
from explain.notices._formatting import format_date, format_money, format_value
from explain.notices._jurisdiction import LegalDetails, forbidden_factor
from explain.notices._notices import SHORT_MESSAGE_LIMITS, short_message_length
from explain.notices._profile import demo_profile

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "jurisdictions"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
PARTS = {"letter.txt": "text", "letter.html": "html", "short.txt": "short"}
KINDS = [c.decision for c in DEMO_CASES]

HK_LEGAL = {"regulator": {"en": "the Hong Kong Monetary Authority", "zh_HK": "香港金融管理局"},
            "regulator_contact": "2878 8196",
            "credit_reference_agency": {"en": "TransUnion Limited", "zh_HK": "環聯資訊有限公司"},
            "credit_reference_contact": "2577 1816"}
TW_LEGAL = {"complaint_channel": "0800-000-000"}
PACKS = {"HK": (HK_LEGAL, ("zh_HK", "en"), "HKD"), "TW": (TW_LEGAL, ("zh_TW", "en"), "TWD")}
SOURCES = ("application", "account", "credit_report")


def profile_for(pack: str, *, sources=SOURCES, **overrides):
    legal = LegalDetails.from_table(pack, {**PACKS[pack][0], **overrides}, address=True)
    return dataclasses.replace(demo_profile(), legal=legal, data_sources=sources, source="")


@pytest.fixture(scope="module")
def case_reasons(bundle):
    data = demo_data()
    return {case.decision: bundle.explainer().reasons(data.iloc[[case.account]], decision=case.decision,
                                                      policy_reasons=case.policy_reasons)[0] for case in DEMO_CASES}


def notice(bundle, case_reasons, pack, kind, locale, *, sources=SOURCES):
    case = next(c for c in DEMO_CASES if c.decision == kind)
    return render_notice(kind, case_reasons[kind], locale=locale, catalog=bundle.catalog,
                         profile=profile_for(pack, sources=sources), old_limit=case.old_limit,
                         new_limit=case.new_limit, account_ref=f"{case.account:06d}", notice_date=DEMO_NOTICE_DATE,
                         currency=PACKS[pack][2])


CASES = [(pack, kind, locale) for pack in PACKS for kind in KINDS for locale in PACKS[pack][1]]


@pytest.fixture(scope="module")
def notices(bundle, case_reasons):
    return {key: notice(bundle, case_reasons, *key) for key in CASES}


@pytest.mark.parametrize(("pack", "kind", "locale"), CASES)
def test_pack_matches_golden(notices, pack, kind, locale):
    result = notices[pack, kind, locale]
    for part, attribute in PARTS.items():
        actual = getattr(result, attribute) + ("\n" if part == "short.txt" else "")
        path = GOLDEN / pack.lower() / kind / locale / part
        if UPDATE:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(actual.encode("utf-8"))
        assert path.is_file(), f"missing golden {path}; run with UPDATE_GOLDEN=1 and review it"
        assert actual == path.read_bytes().decode("utf-8"), path


#: What each pack carries on every kind, in the letter's words.
REQUIRED = {
    ("HK", "zh_HK"): ["《個人資料（私隱）條例》（第486章）", "查閱資料要求，第18條", "改正資料要求，第22條", "40日內",
                      "如需投訴，請聯絡本行：400-000-0000", "香港金融管理局", "2878 8196", "HK$"],
    ("HK", "en"): ["Personal Data (Privacy) Ordinance (Cap. 486)", "data access request, section 18",
                   "data correction request, section 22", "within 40 days", "To complain, contact us at 400-000-0000",
                   "the Hong Kong Monetary Authority at 2878 8196", "HK$"],
    ("TW", "zh_TW"): ["《個人資料保護法》第3條", "請求閱覽", "製給複製本", "補充或更正", "（第13條）",
                      "如需申訴，請聯絡本行：0800-000-000", "30日內", "財團法人金融消費評議中心", "60日內",
                      "0800-789-885", "NT$"],
    ("TW", "en"): ["Article 3 of Taiwan's Personal Data Protection Act", "read it", "a copy of it", "add to it or correct it",
                   "(Article 13)", "To complain, contact us at 0800-000-000. We will reply within 30 days.",
                   "Financial Ombudsman Institution", "within 60 days", "0800-789-885", "NT$"],
}
#: Only on adverse kinds, and only when the decision used a credit report.
CREDIT = {
    ("HK", "zh_HK"): ["您的信貸資料", "環聯資訊有限公司提供的信貸報告", "《個人信貸資料實務守則》", "2577 1816"],
    ("HK", "en"): ["Your credit data", "a credit report from TransUnion Limited",
                   "Code of Practice on Consumer Credit Data", "2577 1816"],
    ("TW", "zh_TW"): ["聯徵中心信用報告", "財團法人金融聯合徵信中心（聯徵中心）", "每年可以向聯徵中心免費申請一次"],
    ("TW", "en"): ["Joint Credit Information Center (JCIC)", "free of charge once a year"],
}
#: The region's own financial words, each asserted in at least one of the pack's zh notices (every kind here).
REGIONAL = {
    "zh_HK": ["額度", "還款", "賬戶", "個人資料", "信貸報告", "投訴", "聯絡", "本行", "發電郵", "瀏覽"],
    "zh_TW": ["額度", "還款", "帳戶", "個人資料", "信用報告", "申訴", "聯絡", "本行", "電子郵件", "造訪"],
}
#: Never in a Hong Kong or Taiwan letter: Simplified forms, the other region's words, mainland-only institutions.
MAINLAND = ["征信中心", "徵信相關", "12363", "人民銀行", "个人信息", "個人信息", "個人信息保護法", "金融監督管理總局", "12378",
            "我行"]
ABSENT = {
    "zh_HK": MAINLAND + ["额度", "还款", "账户", "賬户", "隐私", "个人", "信息", "投诉", "联系", "聯繫", "帳戶", "網路",
                         "簡訊", "申訴", "説", "閲"],
    "zh_TW": MAINLAND + ["额度", "还款", "账户", "賬戶", "賬", "隐私", "个人", "信息", "个人资料", "投訴", "网络", "網絡",
                         "短訊", "短信", "聯繫", "私隱", "月供"],
}


@pytest.mark.parametrize(("pack", "kind", "locale"), CASES)
def test_each_pack_carries_its_elements_in_the_regions_words(notices, pack, kind, locale):
    result = notices[pack, kind, locale]
    html = re.sub(r"<[^>]+>", "", result.html).replace("&#39;", "'")
    adverse = kind != "limit_increase"
    for part in (result.text, html):
        money = ("HK$", "NT$")  # a closure names no limit
        missing = [item for item in REQUIRED[pack, locale] if item not in part
                   and not (kind == "account_closure" and item in money)]
        assert not missing, (pack, kind, locale, missing)
        shown = [item for item in CREDIT[pack, locale] if item in part]
        assert shown == (CREDIT[pack, locale] if adverse else []), (pack, kind, locale, shown)
    if locale != "en":
        for part in (result.subject, result.text, html, result.short):
            found = [form for form in ABSENT[locale] if form in part]
            assert not found, (pack, kind, locale, found)
        assert not re.search(r"[A-Za-z]{4,}", re.sub(r"https?://\S+|\S+@\S+|\S+\.com/\S*", "", result.text)), \
            "no English in a Chinese letter"
    others = ["Personal Information Protection Law", "General Data Protection Regulation", "Equal Credit Opportunity"]
    assert not [o for o in others if o in result.text]


@pytest.mark.parametrize("locale", ["zh_HK", "zh_TW"])
def test_regional_terms_are_used(notices, locale):
    pack = {"zh_HK": "HK", "zh_TW": "TW"}[locale]
    text = "\n".join(notices[pack, kind, locale].text for kind in KINDS)
    assert [term for term in REGIONAL[locale] if term not in text] == []


def test_no_credit_block_without_a_credit_report(bundle, case_reasons):
    for pack, (_, locales, _) in PACKS.items():
        for locale in locales:
            text = notice(bundle, case_reasons, pack, "limit_decrease", locale, sources=("account",)).text
            assert not [item for item in CREDIT[pack, locale] if item in text], (pack, locale)


@pytest.mark.parametrize(("pack", "kind", "locale"), CASES)
def test_plain_language_and_one_sms(notices, pack, kind, locale):
    result = notices[pack, kind, locale]
    sentences = en_sentences(result.text) if locale == "en" else zh_sentences(result.text)
    assert not {s for s in sentences if sentences.count(s) > 1 and len(s) > 12}, "a sentence said twice"
    if locale == "en":
        assert max(word_count(s) for s in en_sentences(result.text)) <= 25
        assert fk_grade(result.text) <= 8
        return
    sentences = zh_sentences(result.text)
    assert max(len(s) for s in sentences) <= 50, max(sentences, key=len)
    assert sum(map(len, sentences)) / len(sentences) <= 30
    assert SHORT_MESSAGE_LIMITS[locale] == 70  # one UCS-2 segment, as for zh_CN
    assert short_message_length(result.short, locale) <= 70, result.short


def test_demo_notices_in_every_locale_fit_one_sms(demo_bundle_notices_hant):
    for (kind, locale), result in demo_bundle_notices_hant.items():
        assert len(result.short) <= 70, (kind, locale, result.short)
        assert not [form for form in ("额度", "账户", "还款") if form in result.text], (kind, locale)


@pytest.fixture(scope="module")
def demo_bundle_notices_hant(bundle):
    """The demo (CN pack) notices in Traditional Chinese: a mainland lender writing to a HK or TW reader."""
    from explain.commands._cli_notice import render_demo_notice

    return {(case.decision, locale): render_demo_notice(bundle, case, locale=locale)
            for case in DEMO_CASES for locale in ("zh_HK", "zh_TW")}


# ------------------------------------------------------------------------------------------ profiles and packs
@pytest.mark.parametrize(("pack", "table", "field"), [
    ("HK", {"regulator_contact": "1"}, "regulator"),
    ("HK", {"regulator": {"en": "X", "zh_HK": "X"}}, "regulator_contact"),
    ("TW", {}, "complaint_channel"),
])
def test_a_pack_names_each_missing_field(pack, table, field):
    with pytest.raises(NoticeInputError, match=rf"'profile legal.{field}' must be given"):
        LegalDetails.from_table(pack, table, address=True)


def test_hk_names_its_pack_locales_and_credit_reference_agency():
    with pytest.raises(NoticeInputError, match=r"'profile legal.regulator' must be a name for every locale "
                                               r"\(missing: zh_HK\)"):
        LegalDetails.from_table("HK", {"regulator": {"en": "HKMA"}, "regulator_contact": "1"}, address=True)
    legal = LegalDetails.from_table("HK", {"regulator": {"en": "X", "zh_HK": "X"}, "regulator_contact": "1"},
                                    address=True)
    with pytest.raises(NoticeInputError, match=r"'profile legal.credit_reference_agency' must be given"):
        dataclasses.replace(demo_profile(), legal=legal, data_sources=SOURCES, source="")
    with pytest.raises(NoticeInputError, match=r"'profile legal.regulator' must be a name in zh_CN"):
        legal.context("zh_CN", default_channel="1")


def test_a_hant_notice_needs_the_lenders_name_in_that_locale():
    profile = dataclasses.replace(demo_profile(), names={"zh_CN": "示例银行"}, source="")
    with pytest.raises(NoticeInputError, match=r"'profile lender.names.zh_HK' must be the lender's name in zh_HK"):
        profile.display_name("zh_HK")
    assert profile.display_name("en") == "Example Bank"


@pytest.mark.parametrize(("pack", "feature", "categories"), [
    ("HK", "gender", ()), ("HK", "marital_status", ()), ("HK", "disability_flag", ()), ("HK", "family_status", ()),
    ("HK", "race", ()), ("HK", "性別", ()), ("TW", "medical_history", ()), ("TW", "criminal_record", ()),
    ("TW", "病歷", ()), ("TW", "gene_test", ()), ("TW", "applicant", ("male", "female")), ("TW", "ethnicity", ()),
])
def test_each_pack_forbids_its_factors(pack, feature, categories):
    factor = forbidden_factor(feature, categories, packs=(pack,))
    assert factor is not None and factor.pack == pack, (pack, feature)


def test_a_neutral_feature_is_allowed_in_hk_and_tw():
    assert forbidden_factor("credit_amount", (), packs=("HK", "TW")) is None


# ----------------------------------------------------------------------------------------------- formatting
def test_money_and_dates_in_the_regions_formats():
    import datetime as dt

    assert format_money(8000, "HKD", locale="zh_HK") == "HK$8,000.00"
    assert format_money(8000, "TWD", locale="zh_TW") == "NT$8,000.00"  # never CLDR's bare "$"
    assert format_money(8000, "TWD", locale="zh_TW", whole=True) == "NT$8,000"
    assert format_money(8000, "USD", locale="zh_TW") == "US$8,000.00"
    assert format_money(8000, "TWD", locale="en") == "NT$8,000.00"
    assert format_money(8000, "HKD", locale="en") == "HK$8,000.00"
    assert format_date(dt.date(2027, 6, 1), locale="zh_HK") == "2027年6月1日"
    assert format_date(dt.date(2027, 6, 1), locale="zh_TW") == "2027年6月1日"
    assert format_value(24, "months", locale="zh_TW") == "24 個月"  # CLDR's Traditional unit pattern
    assert format_value(0.651, "percent", locale="zh_HK") == "65%"


def test_locale_aliases_resolve_once():
    assert [negotiate(x) for x in ("zh-HK", "zh-Hant-HK", "zh_hant_hk", "zh-TW", "zh-Hant-TW")] == \
           ["zh_HK", "zh_HK", "zh_HK", "zh_TW", "zh_TW"]


# ------------------------------------------------------------------------------------------------- catalogs
def test_the_bootstrap_tool_finds_nothing_to_draft_or_fix():
    """``tools/hant_catalog.py --check``: every zh_HK / zh_TW entry reviewed (not empty, not fuzzy) and none
    holds a form the regional-terms table replaces (toolkit and demo-lender catalogs)."""
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "hant_catalog.py"), "--check"], capture_output=True,
                          text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("0 problem(s)")


def test_terms_table_spares_law_titles():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from hant_catalog import apply_terms, load_terms
    finally:
        sys.path.pop(0)
    terms = load_terms()
    assert all(terms[region] for region in ("HK", "TW"))
    assert apply_terms("《中華人民共和國個人信息保護法》的個人信息", terms["HK"]) == "《中華人民共和國個人信息保護法》的個人資料"
    assert apply_terms("賬戶投訴", terms["TW"]) == "帳戶申訴"


# ------------------------------------------------------------------------------------ a lender's translations
def test_a_lender_translates_zh_hk_by_choice(tmp_path, case_reasons):
    """zh_CN and en are required; zh_HK / zh_TW are the lender's choice: without the file a zh_HK notice is
    refused naming the locale, and `phrases update --locale zh_HK` starts the file (then it must be complete)."""
    import shutil

    from explain import FeatureCatalog, Phrasebook, TranslationError
    from explain.catalog._i18n_extract import update_translations
    from explain.notices._profile import DEMO_LENDER_DIR, LenderProfile

    lender = tmp_path / "lender"
    shutil.copytree(DEMO_LENDER_DIR, lender)
    for name in ("zh_HK.po", "zh_TW.po"):
        (lender / "translations" / name).unlink()
    book = Phrasebook.from_dir(lender / "translations")
    assert book.locales == ("zh_CN", "en")
    catalog = FeatureCatalog.from_toml(lender / "catalog.toml", translations=book)
    profile = LenderProfile.from_toml(lender / "profile.toml", translations=book)
    case = next(c for c in DEMO_CASES if c.decision == "limit_decrease")
    with pytest.raises(TranslationError, match=r"zh_HK: .*no translations in zh_HK .*--locale zh_HK"):
        render_notice("limit_decrease", case_reasons["limit_decrease"], locale="zh-HK", catalog=catalog,
                      profile=profile, old_limit=case.old_limit, new_limit=case.new_limit, account_ref="1",
                      notice_date=DEMO_NOTICE_DATE)
    counts = update_translations(lender, lender / "catalog.toml", lender / "profile.toml", locales=["zh-HK"])
    assert set(counts) == {"zh_CN", "en", "zh_HK"} and counts["zh_HK"]["untranslated"] == counts["zh_HK"]["total"] > 0
    with pytest.raises(TranslationError, match=r"zh_HK: phrase .*untranslated"):
        FeatureCatalog.from_toml(lender / "catalog.toml")


def test_the_lenders_currency_is_the_default(bundle, case_reasons):
    case = next(c for c in DEMO_CASES if c.decision == "limit_decrease")
    profile = dataclasses.replace(profile_for("HK"), currency="HKD")
    text = render_notice("limit_decrease", case_reasons["limit_decrease"], locale="zh_HK", catalog=bundle.catalog,
                         profile=profile, old_limit=case.old_limit, new_limit=case.new_limit, account_ref="1",
                         notice_date=DEMO_NOTICE_DATE).text
    assert "由HK$20,000.00下調至HK$8,000.00" in text
    with pytest.raises(NoticeInputError, match=r"'profile lender.currency' must be an ISO 4217 code"):
        dataclasses.replace(profile, currency="hkd")


# ------------------------------------------------------------------------------------------ the bootstrap tool
_PO = '''msgid ""
msgstr ""
"Language: {locale}\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgctxt "groups:a:label"
msgid "Account"
msgstr "{account}"

msgid "Repay on time."
msgstr "{repay}"
'''


class _CharDrafter:
    """A character table standing in for OpenCC (a development extra the tests do not install): the tool's
    own logic (which entries, the terms table, fuzzy, idempotence) is what is under test."""

    config = "table"
    _TABLE = str.maketrans({"账": "賬", "户": "戶", "还": "還", "请": "請", "时": "時", "款": "款", "按": "按"})

    def __init__(self, region, terms):
        from hant_catalog import apply_terms

        self._apply, self._terms = apply_terms, terms

    def __call__(self, text):
        return self._apply(text.translate(self._TABLE), self._terms)


@pytest.fixture()
def hant_tool():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import hant_catalog
    finally:
        sys.path.pop(0)
    return hant_catalog


def test_the_tool_drafts_only_empty_entries_then_is_a_no_op(tmp_path, hant_tool, capsys):
    import io

    from babel.messages.pofile import read_po as _read_po

    def read_po(path, locale):
        return _read_po(io.BytesIO(path.read_bytes()), locale=locale)

    folder = tmp_path / "translations"
    folder.mkdir()
    (folder / "zh_CN.po").write_text(_PO.format(locale="zh_CN", account="账户", repay="请按时还款。"), "utf-8")
    (folder / "zh_HK.po").write_text(_PO.format(locale="zh_HK", account="戶口", repay=""), "utf-8")  # reviewed: 戶口
    assert hant_tool.draft(tmp_path, make_drafter=_CharDrafter) == 0
    hk = read_po(folder / "zh_HK.po", "zh_HK")
    assert hk.get("Account", context="groups:a:label").string == "戶口"  # a reviewed entry is never touched
    drafted = hk.get("Repay on time.")
    assert drafted.string == "請按時還款。" and drafted.fuzzy and drafted.user_comments[0].startswith("draft:")
    tw = read_po(folder / "zh_TW.po", "zh_TW")  # created, then both entries drafted
    assert tw.get("Account", context="groups:a:label").string == "帳戶"  # the TW table: 賬 -> 帳
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert hant_tool.check(tmp_path) == 1  # fuzzy drafts are not a product
    hant_tool.draft(tmp_path, make_drafter=_CharDrafter)
    assert "0 draft(s)" in capsys.readouterr().out.splitlines()[-1]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # idempotent, byte for byte
    hant_tool.accept(tmp_path)
    assert not any(m.fuzzy for m in read_po(folder / "zh_HK.po", "zh_HK") if m.id)
    assert hant_tool.check(tmp_path) == 0
