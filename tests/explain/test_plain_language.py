"""Plain language, measured on every rendered demo notice (see notice_support for what a sentence is).

English: Flesch-Kincaid grade <= 8 and no sentence over 25 words. Chinese: no sentence over 50 characters,
an average under 30, and no Latin letters except the lender's name, URLs/e-mail addresses and references.
Short form: one message (<= 70 characters in Chinese, <= 160 GSM-7 characters in English) under the
lender's signature naming the decision (tests/explain/test_short_messages.py checks every kind, reason and
amount). No notice shows a column name, "SHAP",
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
    word_count,
    zh_sentences,
)


from explain.notices._profile import demo_profile

__all__ = ["demo_notices"]  # the fixture, imported for pytest

DECISION_WORDS = {
    ("limit_decrease", "en"): "drops to", ("limit_decrease", "zh_CN"): "降至",
    ("limit_increase", "en"): "rises to", ("limit_increase", "zh_CN"): "提升至",
    ("account_closure", "en"): "account closes", ("account_closure", "zh_CN"): "关闭",
    ("increase_declined", "en"): "higher limit declined", ("increase_declined", "zh_CN"): "未获批准",
    ("increases_suspended", "en"): "limit increases paused", ("increases_suspended", "zh_CN"): "暂停提额",
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
def test_short_form_fits_one_message(demo_notices, kind, locale):
    notice = demo_notices[kind, locale]
    if locale == "zh_CN":
        assert len(notice.short) <= 70, (len(notice.short), notice.short)
        assert notice.short.startswith("【示例银行】")
    else:
        assert gsm7_length(notice.short) <= 160, notice.short
        assert notice.short.startswith("Example Bank: ")
    assert DECISION_WORDS[kind, locale] in notice.short
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
