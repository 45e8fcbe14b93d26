"""Jurisdiction packs: the legal blocks each profile's jurisdiction requires, filled from the lender's details.

Golden files pin every jurisdiction x kind x locale (``tests/golden/jurisdictions/<pack>/<kind>/<locale>/``;
China's are the demo goldens in ``tests/golden/notices/``); the element tests name what each pack must carry.
``UPDATE_GOLDEN=1`` rewrites the goldens; read the diff.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest
from notice_support import LOCALES, en_sentences, fk_grade, word_count, zh_sentences

from explain import demo_data, render_notice
from explain.commands._cli_notice import DEMO_CASES, DEMO_NOTICE_DATE
from explain.notices._jurisdiction import LegalDetails
from explain.notices._profile import demo_profile

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "jurisdictions"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
PARTS = {"letter.txt": "text", "letter.html": "html", "short.txt": "short"}

US_LEGAL = {"agency": {"en": "Consumer Financial Protection Bureau", "zh_CN": "美国消费者金融保护局"},
            "agency_address": "1700 G Street NW, Washington, DC 20552",
            "bureau_data": True, "bureau": {"en": "Example Credit Bureau", "zh_CN": "示例信用报告机构"},
            "bureau_address": "P.O. Box 1000, Chicago, IL 60601", "bureau_phone": "1-800-555-0100"}
EU_LEGAL = {"supervisor": {"en": "the Example Financial Supervisory Authority", "zh_CN": "示例金融监管局"},
            "adr": {"en": "the Example Financial Ombudsman", "zh_CN": "示例金融纠纷调解机构"}}
#: The decision's bureau fields (FCRA §615(a)(2), §609(f)), as the API, the CLI and batch pass them.
BUREAU = {"bureau_score": 612, "range": [300, 850], "date": "2026-11-20",
          "key_factors": [{"en": "Too many recent credit inquiries", "zh_CN": "近期查询信用记录的次数过多"},
                          {"en": "Balances on revolving accounts are too high", "zh_CN": "循环账户的欠款余额过高"}]}


def profile_for(pack: str, **legal_overrides):
    legal = {"US": US_LEGAL, "EU": EU_LEGAL, "CN": None}[pack]
    if legal is None:
        return demo_profile()
    details = LegalDetails.from_table(pack, {**legal, **legal_overrides}, address=True)
    return dataclasses.replace(demo_profile(), legal=details, source="")


@pytest.fixture(scope="module")
def case_reasons(bundle):
    data = demo_data()
    return {case.decision: bundle.explainer().reasons(data.iloc[[case.account]], decision=case.decision,
                                                      policy_reasons=case.policy_reasons)[0] for case in DEMO_CASES}


def notice(bundle, case_reasons, pack, kind, locale, **legal_overrides):
    case = next(c for c in DEMO_CASES if c.decision == kind)
    profile = profile_for(pack, **legal_overrides)
    return render_notice(kind, case_reasons[kind], locale=locale, catalog=bundle.catalog,
                         profile=profile, old_limit=case.old_limit,
                         new_limit=case.new_limit, account_ref=f"{case.account:06d}", notice_date=DEMO_NOTICE_DATE,
                         currency={"US": "USD", "EU": "EUR", "CN": "CNY"}[pack],
                         bureau=BUREAU if profile.legal.bureau_data else None)


@pytest.mark.parametrize("part", list(PARTS))
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", [c.decision for c in DEMO_CASES])
@pytest.mark.parametrize("pack", ["US", "EU"])
def test_pack_matches_golden(bundle, case_reasons, pack, kind, locale, part):
    actual = getattr(notice(bundle, case_reasons, pack, kind, locale), PARTS[part])
    actual += "\n" if part == "short.txt" else ""
    path = GOLDEN / pack.lower() / kind / locale / part
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
    assert path.is_file(), f"missing golden {path}; run with UPDATE_GOLDEN=1 and review it"
    assert actual == path.read_bytes().decode("utf-8")


#: What each pack must carry on every kind (the element, in the words the letter uses).
REQUIRED = {
    ("CN", "zh_CN"): ["《中华人民共和国个人信息保护法》第二十四条", "予以说明", "拒绝我行仅通过自动化决策方式作出决定",
                      "人工复核", "安排工作人员重新作出决定", "第四十五条、第四十六条", "查阅、复制", "也可以要求更正", "说明理由（第五十条）",
                      "国家金融监督管理总局", "12378", "如需投诉，请联系我行：400-000-0000", "15日内答复",
                      "此日期不影响您依法享有的权利", "您申请时提供的信息和您在我行的账户使用情况"],
    ("CN", "en"): ["Article 24 of the Personal Information Protection Law", "explain this decision",
                   "refuse a decision made solely by automated means", "a member of our staff to review it",
                   "will make the decision again", "Articles 45 and 46", "see and copy", "ask us to correct it", "(Article 50)",
                   "National Financial Regulatory Administration", "12378", "To complain, contact us at 400-000-0000",
                   "within 15 days", "does not limit your rights",
                   "the information in your application and how you have used your account with us"],
    ("US", "en"): ["explain this decision", "a person to review it", "1 Example Road, Shanghai",
                   "information in your application"],
    ("US", "zh_CN"): ["解释本决定", "人工复核", "上海市示例路1号"],
    ("EU", "en"): ["Article 22(3) of the General Data Protection Regulation", "take part in the decision",
                   "give us your point of view", "contest the decision", "To complain, contact us at 400-000-0000",
                   "the Example Financial Ombudsman", "out of court", "You can also complain to the Example Financial "
                   "Supervisory Authority"],
    ("EU", "zh_CN"): ["《通用数据保护条例》第二十二条第三款", "参与作出决定", "陈述您的意见", "提出异议",
                      "如需投诉，请联系我行：400-000-0000", "示例金融纠纷调解机构", "诉讼外调解", "示例金融监管局"],
}
#: What a pack carries on adverse kinds only (and never on an increase).
ADVERSE_ONLY = {
    ("CN", "zh_CN"): ["《征信业管理条例》", "免费查询两次本人信用报告（第十七条）", "提出异议（第二十五条）", "12363"],
    ("CN", "en"): ["rules on credit reporting", "free of charge twice a year (Article 17)", "(Article 25)", "12363"],
    ("US", "en"): ["Equal Credit Opportunity Act prohibits creditors from discriminating",
                   "race, color, religion, national origin, sex, marital status and age", "public assistance",
                   "Consumer Financial Protection Bureau", "1700 G Street NW, Washington, DC 20552",
                   "consumer reporting agency", "Example Credit Bureau", "P.O. Box 1000, Chicago, IL 60601",
                   "1-800-555-0100", "did not make this decision", "free copy of your report",
                   "within 60 days after you get this notice", "dispute", "Your credit score was 612 on November 20, 2026.",
                   "Scores range from a low of 300 to a high of 850.", "key factors hurt your score",
                   "Too many recent credit inquiries", "Balances on revolving accounts are too high"],
    ("US", "zh_CN"): ["《平等信贷机会法》", "美国消费者金融保护局", "示例信用报告机构", "60天", "提出异议",
                      "截至2026年11月20日，您的信用评分为612分。", "评分范围为300分至850分。", "近期查询信用记录的次数过多"],
    ("EU", "en"): [],
    ("EU", "zh_CN"): [],
}
#: Only on a declined increase: CCD (EU) 2023/2225 art. 18 covers the creditworthiness assessment.
DECLINED_ONLY = {("EU", "en"): ["Article 18 of the Consumer Credit Directive (EU) 2023/2225",
                                "how we assessed your creditworthiness", "review that assessment"],
                 ("EU", "zh_CN"): ["《消费者信贷指令》", "信用状况", "复核该评估"]}


def _cn_notice(bundle, case_reasons, kind, locale):
    return notice(bundle, case_reasons, "CN", kind, locale)


@pytest.mark.parametrize(("pack", "locale"), list(REQUIRED))
@pytest.mark.parametrize("kind", [c.decision for c in DEMO_CASES])
def test_each_pack_carries_its_required_elements(bundle, case_reasons, pack, locale, kind):
    result = notice(bundle, case_reasons, pack, kind, locale)
    adverse = kind != "limit_increase"
    html = re.sub(r"<[^>]+>", "", result.html).replace("&#39;", "'")  # the words, without the links' markup
    for part in (result.text, html):
        missing = [item for item in REQUIRED[pack, locale] if item not in part]
        assert not missing, (pack, locale, kind, missing)
        shown = [item for item in ADVERSE_ONLY[pack, locale] if item in part]
        assert shown == (ADVERSE_ONLY[pack, locale] if adverse else []), (pack, locale, kind, shown)
        declined = [item for item in DECLINED_ONLY.get((pack, locale), []) if item in part]
        assert declined == (DECLINED_ONLY.get((pack, locale), []) if kind == "increase_declined" else []), declined
    others = {"CN": "个人信息保护法" if locale == "zh_CN" else "Personal Information Protection Law",
              "EU": "通用数据保护条例" if locale == "zh_CN" else "General Data Protection Regulation"}
    for other, marker in others.items():
        assert (marker in result.text) == (other == pack), (pack, other)
    assert "key factors that affected this decision" not in result.text  # the score's factors, not the reasons
    if pack == "CN":
        assert ("第十五条" in result.text or "(Article 15)" in result.text) == (kind == "account_closure"), \
            "the prior notice of negative information belongs to an overdue repayment (the closure case)"


def test_a_sentence_is_never_repeated_in_a_letter(bundle, case_reasons):
    for pack in ("CN", "US", "EU"):
        for case in DEMO_CASES:
            for locale in LOCALES:
                text = notice(bundle, case_reasons, pack, case.decision, locale).text
                sentences = zh_sentences(text) if locale == "zh_CN" else en_sentences(text)
                repeated = {s for s in sentences if sentences.count(s) > 1 and len(s) > 12}
                assert not repeated, (pack, case.decision, locale, repeated)


@pytest.mark.parametrize("kind", [c.decision for c in DEMO_CASES])
def test_us_bureau_data_is_required_and_refused_at_the_boundary(bundle, case_reasons, kind):
    from explain import NoticeInputError

    case = next(c for c in DEMO_CASES if c.decision == kind)
    args = dict(locale="en", catalog=bundle.catalog, old_limit=case.old_limit, new_limit=case.new_limit,
                account_ref="1", notice_date=DEMO_NOTICE_DATE, currency="USD")
    with pytest.raises(NoticeInputError, match=r"'bureau' must be the decision's bureau fields"):
        render_notice(kind, case_reasons[kind], profile=profile_for("US"), **args)
    with pytest.raises(NoticeInputError, match=r"'bureau.key_factors' must be 1 to 4 key factors"):
        render_notice(kind, case_reasons[kind], profile=profile_for("US"), bureau={**BUREAU, "key_factors": ["a"] * 5},
                      **args)
    with pytest.raises(NoticeInputError, match=r"'bureau.bureau_score' must be a whole number from 300 to 850"):
        render_notice(kind, case_reasons[kind], profile=profile_for("US"), bureau={**BUREAU, "bureau_score": 900},
                      **args)
    with pytest.raises(NoticeInputError, match=r"'bureau.range' must be given"):
        render_notice(kind, case_reasons[kind], profile=profile_for("US"), bureau={**BUREAU, "range": None}, **args)
    with pytest.raises(NoticeInputError, match=r"'bureau' must be nothing"):
        render_notice(kind, case_reasons[kind], profile=profile_for("US", bureau_data=False), bureau=BUREAU, **args)


@pytest.mark.parametrize("locale", LOCALES)
def test_fcra_block_only_when_bureau_data_was_used(bundle, case_reasons, locale):
    without = notice(bundle, case_reasons, "US", "limit_decrease", locale, bureau_data=False)
    assert ("credit score" in without.text) is False and "信用评分" not in without.text
    marker = "consumer reporting agency" if locale == "en" else "消费者信用报告机构"
    assert marker not in without.text
    assert marker in notice(bundle, case_reasons, "US", "limit_decrease", locale).text


@pytest.mark.parametrize("pack", ["CN", "US", "EU"])
@pytest.mark.parametrize("locale", LOCALES)
def test_plain_language_thresholds_hold_in_every_pack(bundle, case_reasons, pack, locale):
    for case in DEMO_CASES:
        text = notice(bundle, case_reasons, pack, case.decision, locale).text
        if locale == "en":
            longest = max(word_count(s) for s in en_sentences(text))
            assert longest <= 25, (pack, case.decision, longest)
            assert fk_grade(text) <= 8, (pack, case.decision, fk_grade(text))  # legal blocks included
        else:
            sentences = zh_sentences(text)
            assert max(len(s) for s in sentences) <= 50, max(sentences, key=len)
            assert sum(map(len, sentences)) / len(sentences) <= 30


@pytest.mark.parametrize("locale", LOCALES)
def test_eu_complaints_stay_without_a_supervisor(bundle, case_reasons, locale):
    """The lender's channel and out-of-court redress are always there; "also" only follows them."""
    details = LegalDetails.from_table("EU", {"adr": EU_LEGAL["adr"]}, address=True)
    profile = dataclasses.replace(demo_profile(), legal=details, source="")
    case = next(c for c in DEMO_CASES if c.decision == "limit_decrease")
    text = render_notice("limit_decrease", case_reasons["limit_decrease"], locale=locale, catalog=bundle.catalog,
                         profile=profile, old_limit=case.old_limit, new_limit=case.new_limit, account_ref="1",
                         notice_date=DEMO_NOTICE_DATE, currency="EUR").text
    expected = (["如需投诉，请联系我行：400-000-0000。", "示例金融纠纷调解机构"] if locale == "zh_CN"
                else ["To complain, contact us at 400-000-0000.", "the Example Financial Ombudsman"])
    assert all(e in text for e in expected)
    assert "also complain" not in text and "也可以向" not in text


def test_an_eu_profile_must_name_its_out_of_court_redress():
    from explain import NoticeInputError

    with pytest.raises(NoticeInputError, match=r"'profile legal.adr' must be given"):
        LegalDetails.from_table("EU", {"supervisor": "X"}, address=True)
