"""Plain language, measured on every rendered demo notice (see notice_support for what a sentence is).

English: Flesch-Kincaid grade <= 8 and no sentence over 25 words. Chinese: no sentence over 50 characters,
an average under 30, and no Latin letters except the lender's name, URLs/e-mail addresses and references.
Short form: one message (<= 70 characters in Chinese, <= 160 GSM-7 characters in English) naming the
decision, the top reason and where to get the full explanation. No notice shows a column name, "SHAP",
"log-odds", a raw float or an empty reasons section.
"""

from __future__ import annotations

import re

import pytest
from notice_support import (
    KINDS,
    LOCALES,
    demo_notices,
    en_sentences,
    fk_grade,
    gsm7_length,
    model_reason,
    policy_reason,
    word_count,
    zh_sentences,
)


from explain.notices._profile import demo_profile

__all__ = ["demo_notices"]  # the fixture, imported for pytest

DECISION_WORDS = {
    ("limit_decrease", "en"): "drops to", ("limit_decrease", "zh_CN"): "降至",
    ("limit_increase", "en"): "rise to", ("limit_increase", "zh_CN"): "提升至",
    ("account_closure", "en"): "close your account", ("account_closure", "zh_CN"): "关闭",
    ("increase_declined", "en"): "cannot raise", ("increase_declined", "zh_CN"): "暂未获批准",
}


@pytest.mark.parametrize("kind", KINDS)
def test_english_grade_and_sentence_length(demo_notices, kind):
    import textstat

    text = demo_notices[kind, "en"].text
    assert fk_grade(text) <= 8
    assert textstat.flesch_kincaid_grade(text) <= 8  # and without closing headings as sentences
    longest = max(en_sentences(text), key=word_count)
    assert word_count(longest) <= 25, longest


def test_peer_sample_scores_higher_than_our_limit():
    """The measure itself: a peer's reasons block reads far above grade 8, so it can fail."""
    import textstat

    peer = ("Debt: Value of 5000 negatively impacted the decision. Credit history: Value of 2 negatively "
            "impacted the decision. Duration: Value of 48 negatively impacted the decision.")
    assert textstat.flesch_kincaid_grade(peer) > 8


@pytest.mark.parametrize("kind", KINDS)
def test_chinese_sentence_length(demo_notices, kind):
    sentences = zh_sentences(demo_notices[kind, "zh_CN"].text)
    assert max(map(len, sentences)) <= 50, max(sentences, key=len)
    assert sum(map(len, sentences)) / len(sentences) < 30


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("part", ["subject", "text", "short"])
def test_chinese_has_no_latin_letters_but_names_urls_and_references(demo_notices, kind, part):
    notice = demo_notices[kind, "zh_CN"]
    profile = demo_profile()
    text = getattr(notice, part)
    for allowed in (profile.name, profile.url, profile.short_url, profile.email, notice.reference):
        text = text.replace(allowed, "")
    assert not re.search(r"[A-Za-z]", text), re.findall(r".{0,10}[A-Za-z]+.{0,10}", text)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("locale", LOCALES)
def test_short_form_fits_one_message(demo_notices, catalog, kind, locale):
    notice = demo_notices[kind, locale]
    if locale == "zh_CN":
        assert len(notice.short) <= 70, (len(notice.short), notice.short)
    else:
        assert gsm7_length(notice.short) <= 160, notice.short
    assert DECISION_WORDS[kind, locale] in notice.short
    top = notice.reasons[0]
    entry = catalog.groups.get(top) or catalog.policy_reasons[top]
    prefix = "groups" if top in catalog.groups else "policy"
    assert catalog.phrase(f"{prefix}:{top}:label", entry.label, locale=locale) in notice.short
    assert demo_profile().short_url in notice.short
    assert "\n" not in notice.short


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("locale", LOCALES)
def test_nothing_technical_reaches_the_customer(demo_notices, bundle, kind, locale):
    notice = demo_notices[kind, locale]
    for part in (notice.subject, notice.text, notice.html, notice.short):
        lowered = part.lower()
        assert "shap" not in lowered and "log-odds" not in lowered and "log odds" not in lowered
        for column in bundle.catalog.features:
            if "_" in column:  # identifier-like names; "purpose" is also an English word
                assert column not in part
        # A raw float: more than two decimals, or a decimal that is not money's ".dd".
        assert not re.search(r"\d\.\d{3,}", part), part
        assert "nan" not in re.findall(r"[a-z]+", lowered) and "None" not in part
    assert notice.reasons, "every demo case has at least one reason"
    bullets = [line for line in notice.text.splitlines() if line.startswith("- ")]
    assert len(bullets) >= len(notice.reasons)
    assert "<li></li>" not in notice.html


@pytest.mark.parametrize("locale", LOCALES)
def test_short_form_fits_whatever_the_top_reason(catalog, locale):
    """The demo's limits with each reason group and policy reason in turn as the top reason."""
    import datetime as dt

    from explain.notices._notices import render_notice

    tops = [(c, "model") for c, g in catalog.groups.items() if not g.protected]
    tops += [(c, "policy") for c in catalog.policy_reasons]
    cases = [("limit_decrease", 20000, 8000), ("account_closure", 20000, 0), ("increase_declined", 20000, 30000),
             # Seven-digit limits push the full wording past one message; the compact wording must take over.
             ("limit_decrease", 9_000_000, 1_500_000), ("account_closure", 9_000_000, 0),
             ("increase_declined", 1_500_000, 9_000_000)]
    longest = 0
    for code, source in tops:
        reason = model_reason(catalog, code) if source == "model" else policy_reason(catalog, code)
        for kind, old, new in cases:
            short = render_notice(kind, [reason], locale=locale, catalog=catalog, profile=demo_profile(), old_limit=old, new_limit=new,
                                  account_ref="1", notice_date=dt.date(2026, 12, 1)).short
            longest = max(longest, len(short) if locale == "zh_CN" else gsm7_length(short))
    assert longest <= (70 if locale == "zh_CN" else 160)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", ["limit_decrease", "limit_increase", "account_closure"])
def test_short_message_keeps_limit_date_and_link_over_seven_digit_limits(catalog, kind, locale):
    """Whatever the amount (up to seven digits) and however long the name: decision, new limit (not for a
    closure), date and link stay; the short name comes in first, then the reason goes."""
    import dataclasses
    import datetime as dt

    from explain.notices._formatting import format_date, format_money
    from explain.notices._notices import SHORT_MESSAGE_LIMITS, render_notice, short_message_length

    effect = "favourable" if kind == "limit_increase" else "adverse"
    reason = model_reason(catalog, "home_and_property", effect)
    long_name = dataclasses.replace(demo_profile(), names={"zh_CN": "示例银行股份有限公司信用卡中心"},
                                    name="Example Bank Consumer Credit Card Services", short_name="ExampleBank",
                                    short_names={"zh_CN": "示例银行"}, source="")
    for profile in (demo_profile(), long_name):
        for old, new in ((20_000, 8_000), (9_999_999, 1_000_000), (1_000_000, 9_999_999), (5_000_000, 0)):
            if (kind == "account_closure") != (new == 0) or (kind == "limit_increase") != (new > old):
                continue
            notice = render_notice(kind, [reason], locale=locale, catalog=catalog, profile=profile, old_limit=old,
                                   new_limit=new, account_ref="1", notice_date=dt.date(2026, 12, 1))
            short = notice.short
            assert short_message_length(short, locale) <= SHORT_MESSAGE_LIMITS[locale], short
            effective = dt.date(2026, 12, 1) + dt.timedelta(days=0 if kind == "limit_increase" else 30)
            assert format_date(effective, locale=locale, length="medium") in short
            if kind != "account_closure":
                assert format_money(new, "CNY", locale=locale) in short
            assert profile.short_url in short
            assert profile.display_name(locale) in short or profile.short_display_name(locale) in short
            if locale == "zh_CN":
                assert short.startswith("【") and "】" in short[:20]
