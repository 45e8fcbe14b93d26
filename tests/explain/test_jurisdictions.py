"""Jurisdiction packs: the legal blocks each profile's jurisdiction requires, filled from the lender's details.

Golden files pin every jurisdiction x kind x locale (``tests/golden/jurisdictions/<pack>/<kind>/<locale>/``;
China's are the demo goldens in ``tests/golden/notices/``); the element tests name what each pack must carry.
``UPDATE_GOLDEN=1`` rewrites the goldens; read the diff.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from notice_support import LOCALES, en_sentences, word_count, zh_sentences

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
EU_LEGAL = {"supervisor": {"en": "the Example Financial Supervisory Authority", "zh_CN": "示例金融监管局"}}


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
    return render_notice(kind, case_reasons[kind], locale=locale, catalog=bundle.catalog,
                         profile=profile_for(pack, **legal_overrides), old_limit=case.old_limit,
                         new_limit=case.new_limit, account_ref=f"{case.account:06d}", notice_date=DEMO_NOTICE_DATE,
                         currency={"US": "USD", "EU": "EUR", "CN": "CNY"}[pack])


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


REQUIRED = {
    ("CN", "zh_CN"): ["《中华人民共和国个人信息保护法》第二十四条", "予以说明", "拒绝我行仅通过自动化决策方式作出决定",
                      "人工复核", "国家金融监督管理总局", "12378", "如需投诉，请联系我行：400-000-0000"],
    ("CN", "en"): ["Article 24 of the Personal Information Protection Law", "explain this decision",
                   "refuse a decision made solely by automated means", "a member of our staff to review it",
                   "National Financial Regulatory Administration", "12378", "To complain, contact us at 400-000-0000"],
    ("US", "en"): ["Equal Credit Opportunity Act prohibits creditors from discriminating",
                   "race, color, religion, national origin, sex, marital status and age", "public assistance",
                   "Consumer Financial Protection Bureau", "1700 G Street NW, Washington, DC 20552",
                   "1 Example Road, Shanghai", "consumer reporting agency",
                   "Example Credit Bureau", "P.O. Box 1000, Chicago, IL 60601", "1-800-555-0100",
                   "did not make this decision", "free copy of your report", "within 60 days", "dispute",
                   "key factors"],
    ("US", "zh_CN"): ["《平等信贷机会法》", "美国消费者金融保护局", "上海市示例路1号", "示例信用报告机构", "60天", "提出异议"],
    ("EU", "en"): ["Article 22(3) of the General Data Protection Regulation", "take part in the decision",
                   "give us your point of view", "contest the decision",
                   "Article 18 of the Consumer Credit Directive (EU) 2023/2225", "how we assessed your creditworthiness",
                   "review that assessment", "the Example Financial Supervisory Authority"],
    ("EU", "zh_CN"): ["《通用数据保护条例》第二十二条第三款", "参与作出决定", "陈述您的意见", "提出异议",
                      "《消费者信贷指令》", "信用状况", "复核", "示例金融监管局"],
}


@pytest.mark.parametrize(("pack", "locale"), list(REQUIRED))
@pytest.mark.parametrize("kind", [c.decision for c in DEMO_CASES])
def test_each_pack_carries_its_required_elements(bundle, case_reasons, pack, locale, kind):
    result = notice(bundle, case_reasons, pack, kind, locale)
    for part in (result.text, result.html.replace("&#39;", "'")):
        missing = [item for item in REQUIRED[pack, locale] if item not in part]
        assert not missing, (pack, locale, kind, missing)
    others = {"CN": "个人信息保护法" if locale == "zh_CN" else "Personal Information Protection Law",
              "US": "平等信贷机会法" if locale == "zh_CN" else "Equal Credit Opportunity Act",
              "EU": "通用数据保护条例" if locale == "zh_CN" else "General Data Protection Regulation"}
    for other, marker in others.items():
        assert (marker in result.text) == (other == pack), (pack, other)


@pytest.mark.parametrize("locale", LOCALES)
def test_fcra_block_only_when_bureau_data_was_used(bundle, case_reasons, locale):
    without = notice(bundle, case_reasons, "US", "limit_decrease", locale, bureau_data=False)
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
        else:
            sentences = zh_sentences(text)
            assert max(len(s) for s in sentences) <= 50, max(sentences, key=len)
            assert sum(map(len, sentences)) / len(sentences) <= 30
