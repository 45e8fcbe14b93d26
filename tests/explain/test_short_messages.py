"""Short messages and the lender's voice across a portfolio: one registered signature, one voice, one segment.

A lender with a long Chinese name whose voice is 我司 (its own translations say 我司 too) writes every demo
account under every decision kind: the signature is the same on every message and never shortened, no
toolkit sentence says 我行, and every short message fits one SMS while keeping the decision, the limit (not
for a closure), the date and the main reason's value or short phrase.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil

import pytest
from notice_support import LOCALES, gsm7_length, model_reason, policy_reason

from explain import FeatureCatalog, LenderProfile, NoticeInputError, demo_data, render_notice
from explain.notices._formatting import format_date
from explain.notices._locales import SUPPORTED_LOCALES
from explain.notices._notices import SHORT_MESSAGE_LIMITS, _day_month, _short_money, reason_phrases, short_message_length
from explain.notices._profile import DEMO_LENDER_DIR, demo_profile
from explain.notices._skeletons import NoticeWriter

KINDS = {"limit_decrease": (20000, 8000), "limit_increase": (20000, 30000), "account_closure": (20000, 0),
         "increase_declined": (20000, 30000), "increases_suspended": (20000, 20000)}
SIGNATURE = {"zh_CN": "汇信消费金融有限公司", "en": "Huixin Consumer Finance"}
REVIEW = {"zh_CN": "人工复核", "en": "human review", "zh_HK": "人工複核", "zh_TW": "人工複核"}


@pytest.fixture(scope="module")
def consumer_finance(tmp_path_factory):
    """The demo lender re-badged as a consumer-finance company speaking as 我司 (its phrases too)."""
    folder = tmp_path_factory.mktemp("huixin") / "lender"
    shutil.copytree(DEMO_LENDER_DIR, folder)
    po = folder / "translations" / "zh_CN.po"
    po.write_text(po.read_text("utf-8").replace("我行", "我司"), "utf-8")
    profile = (folder / "profile.toml").read_text("utf-8")
    profile = profile.replace('voice = "我行"', 'voice = "我司"').replace('zh_CN = "示例银行"\nen = "Example Bank"',
                                                                      'zh_CN = "汇信消费金融有限公司"\nen = "Huixin Consumer Finance"')
    profile = profile.replace('[lender.names]\nzh_CN = "示例银行"', '[lender.names]\nzh_CN = "汇信消费金融股份有限公司信用卡与消费信贷业务中心"')
    (folder / "profile.toml").write_text(profile, "utf-8")
    return FeatureCatalog.from_toml(folder / "catalog.toml"), LenderProfile.from_toml(folder / "profile.toml")


def _keeps(short: str, kind: str, old: int, new: int, effective: dt.date, phrased: dict, locale: str) -> list[str]:
    """What a short message lost of what it must keep (empty when it kept everything)."""
    lost = []
    if kind != "account_closure":
        amount = old if kind == "increase_declined" else new
        from explain.notices._formatting import format_money

        if format_money(amount, "CNY", locale=locale) not in short and _short_money(amount, "CNY", locale) not in short:
            lost.append("limit")
    if format_date(effective, locale=locale) not in short and _day_month(effective, locale) not in short:
        lost.append("date")
    folded = short.lower() if locale == "en" else short
    if phrased["value"] is not None:
        forms = {phrased["value"], re.sub(r"\.00(?!\d)", "", phrased["value"])}  # money may drop ".00" to fit
    else:  # a policy reason: its sentence or its label
        forms = {phrased["label"], phrased["text"].rstrip("。.")}
    if not any((w.lower() in folded) if locale == "en" else (w in short) for w in forms):
        lost.append("reason value or phrase")
    return lost


def test_signature_and_voice_are_constant_across_1000_accounts_and_5_kinds(bundle, consumer_finance):
    catalog, profile = consumer_finance
    data = demo_data()
    writer = NoticeWriter()
    explainer = bundle.explainer()
    seen_signatures = {loc: set() for loc in LOCALES}
    reviewed = {loc: [0, 0] for loc in LOCALES}  # adverse messages that keep the human-review pointer, of all
    count = 0
    for kind, (old, new) in KINDS.items():
        policy = ("overdue_repayment",) if kind == "account_closure" else ()
        for i, chosen in enumerate(explainer.reasons(data, decision=kind, policy_reasons=policy)):
            if kind != "limit_increase" and not chosen.reasons:
                continue
            for locale in LOCALES:
                notice = writer.render(kind, chosen, locale=locale, catalog=catalog, profile=profile, old_limit=old,
                                       new_limit=new, account_ref=f"{i:06d}", notice_date=dt.date(2026, 12, 1))
                short = notice.short
                assert short_message_length(short, locale) <= SHORT_MESSAGE_LIMITS[locale], short
                if locale == "zh_CN":
                    match = re.match(r"【([^】]+)】", short)
                    seen_signatures[locale].add(match.group(1) if match else None)
                    assert short.count("【") == 1
                    for part in (notice.text, notice.html, notice.short, notice.subject):
                        assert "我行" not in part, part
                    assert "我司" in notice.text
                else:
                    gsm7_length(short)  # every character in the GSM-7 alphabet
                    seen_signatures[locale].add(short.split(":", 1)[0])
                # Whatever lowers the limit (a decrease, a closure, a suspension that lowers it too) waits the
                # profile's notice period; the rest applies on the notice date.
                effective = dt.date(2026, 12, 31) if new < old else dt.date(2026, 12, 1)
                if kind != "limit_increase":
                    reviewed[locale][0] += REVIEW[locale] in (short.lower() if locale == "en" else short)
                    reviewed[locale][1] += 1
                top = chosen.reasons[0] if chosen.reasons else None
                if top is not None:
                    lost = _keeps(short, kind, old, new, effective, reason_phrases(top, locale=locale, catalog=catalog),
                                  locale)
                    assert not lost, (lost, short)
                count += 1
    assert count > 8500
    # Under this long name most adverse messages still name the human review (measured 94.8 % in Chinese and
    # 93.3 % in English; 27 % and 42 % when the pointer went straight to "Info").
    assert all(kept / total > 0.9 for kept, total in reviewed.values()), reviewed
    assert seen_signatures == {loc: {SIGNATURE[loc]} for loc in LOCALES}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_reason_and_amount_fits_one_message_and_keeps_what_it_must(catalog, locale):
    """Each reason group and policy reason as the top reason, with seven-digit limits, in every locale; an
    adverse message keeps its pointer to a human review (see below for the one exception)."""
    tops = [model_reason(catalog, c) for c, g in catalog.groups.items() if not g.protected]
    tops += [policy_reason(catalog, c) for c in catalog.policy_reasons]
    cases = [("limit_decrease", 20000, 8000), ("account_closure", 20000, 0), ("increase_declined", 20000, 30000),
             ("increases_suspended", 20000, 20000), ("increases_suspended", 20000, 12000),
             ("limit_decrease", 9_999_999, 1_500_000), ("account_closure", 9_000_000, 0),
             ("increase_declined", 1_500_000, 9_999_999), ("increases_suspended", 9_999_999, 9_999_999),
             ("increases_suspended", 9_999_999, 1_500_000)]
    for reason in tops:
        for kind, old, new in cases:
            short = render_notice(kind, [reason], locale=locale, catalog=catalog, profile=demo_profile(), old_limit=old,
                                  new_limit=new, account_ref="1", notice_date=dt.date(2026, 12, 1)).short
            assert short_message_length(short, locale) <= SHORT_MESSAGE_LIMITS[locale], short
            effective = dt.date(2026, 12, 31) if new < old else dt.date(2026, 12, 1)
            lost = _keeps(short, kind, old, new, effective, reason_phrases(reason, locale=locale, catalog=catalog), locale)
            assert not lost, (lost, short)
            # The pointer keeps "human review" (short_review before the compact "Info"), except in Traditional
            # Chinese with a seven-digit limit and the longest reasons, where 70 characters leave only 詳詢.
            if kind != "limit_increase" and (locale in ("zh_CN", "en") or max(old, new) < 1_000_000):
                assert REVIEW[locale] in (short.lower() if locale == "en" else short), short


def test_the_short_message_keeps_the_value_not_only_a_label(catalog):
    reason = model_reason(catalog, "current_account")  # the checking account's first category: overdrawn
    for locale, words in (("zh_CN", "活期账户已透支"), ("en", "checking account is overdrawn")):
        short = render_notice("limit_decrease", [reason], locale=locale, catalog=catalog, profile=demo_profile(),
                              old_limit=20000, new_limit=8000, account_ref="1", notice_date=dt.date(2026, 12, 1)).short
        assert words in short, short


@pytest.mark.parametrize("kind", list(KINDS))
def test_adverse_short_messages_point_to_the_phone_not_a_link_by_default(catalog, kind):
    old, new = KINDS[kind]
    effect = "favourable" if kind == "limit_increase" else "adverse"
    reason = model_reason(catalog, "loan_term", effect)
    for locale in LOCALES:
        short = render_notice(kind, [reason], locale=locale, catalog=catalog, profile=demo_profile(), old_limit=old,
                              new_limit=new, account_ref="1", notice_date=dt.date(2026, 12, 1)).short
        if kind == "limit_increase":
            assert "example.com/r" in short
        else:
            assert "example.com" not in short and "400-000-0000" in short, short
        app = dataclasses.replace(demo_profile(), short_details="app",
                                  app_names={"zh_CN": "示例银行App", "en": "Example Bank app"}, source="")
        short = render_notice(kind, [reason], locale=locale, catalog=catalog, profile=app, old_limit=old,
                              new_limit=new, account_ref="1", notice_date=dt.date(2026, 12, 1)).short
        assert ("示例银行App" if locale == "zh_CN" else "Example Bank app") in short and "example.com" not in short


@pytest.mark.parametrize(("edit", "match"), [
    (lambda d: d["lender"].pop("sms_signature"), r"sms_signature' must be the registered SMS signature"),
    (lambda d: d["lender"].update(sms_signature={"zh_CN": "【示例银行】"}), "without brackets"),
    (lambda d: d["lender"].update(voice={"zh_CN": "我司", "en": "us"}), "English letters always say 'we'"),
    (lambda d: d["contact"].update(short_details="email"), "short_details' must be one of link, app, phone"),
    (lambda d: d["contact"].update(short_details="app"), r"contact.app' must be the app's name in every locale"),
    (lambda d: d["lender"].update(data_sources=["application", "social_media"]), "data_sources' must be a list of"),
])
def test_profile_voice_signature_and_pointer_are_validated(edit, match):
    import tomllib

    from explain.notices._profile import DEMO_PROFILE_PATH

    data = tomllib.loads(DEMO_PROFILE_PATH.read_text("utf-8"))
    edit(data)
    with pytest.raises(NoticeInputError, match=match):
        LenderProfile.from_dict(data)
