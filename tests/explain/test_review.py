"""The review stage without HTTP: the state machine, the lender's rules per jurisdiction pack (window, reply
deadline, hold, second-reviewer threshold) and the outcome notices in both locales (golden files).

``UPDATE_GOLDEN=1`` rewrites ``tests/golden/review_outcome/``; read the diff before committing.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from review_support import profile

from explain import demo_bundle
from explain._exceptions import NoticeInputError
from explain.notices._profile import demo_profile
from explain.review import (FINAL_STATES, OUTCOME_REASONS, PACK_REPLY_DAYS, Action, ReviewInputError, ReviewPolicy,
                            State, allowed_actions, next_state, render_outcome_notices)

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "review_outcome"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
PARTS = {"subject.txt": "subject", "letter.txt": "text", "letter.html": "html", "short.txt": "short"}
LOCALES = ("zh_CN", "en")


# ------------------------------------------------------------------------------------------ state machine
def test_moves_of_each_state() -> None:
    assert allowed_actions(State.REQUESTED) == (Action.TRIAGE, Action.NOTE, Action.WITHDRAW)
    assert allowed_actions(State.IN_REVIEW) == (Action.NOTE, Action.WHAT_IF, Action.UPHOLD, Action.OVERTURN,
                                                Action.WITHDRAW)
    assert allowed_actions(State.IN_REVIEW, awaiting_second=True) == (Action.NOTE, Action.WHAT_IF, Action.CONFIRM,
                                                                      Action.REJECT, Action.WITHDRAW)
    for state in FINAL_STATES:
        assert allowed_actions(state) == ()


@pytest.mark.parametrize(("state", "awaiting", "action", "needs_second", "expected"), [
    (State.REQUESTED, False, Action.TRIAGE, False, (State.IN_REVIEW, False)),
    (State.REQUESTED, False, Action.NOTE, False, (State.REQUESTED, False)),
    (State.REQUESTED, False, Action.WITHDRAW, False, (State.WITHDRAWN, False)),
    (State.IN_REVIEW, False, Action.UPHOLD, False, (State.UPHELD, False)),
    (State.IN_REVIEW, False, Action.OVERTURN, False, (State.OVERTURNED, False)),
    (State.IN_REVIEW, False, Action.OVERTURN, True, (State.IN_REVIEW, True)),
    (State.IN_REVIEW, False, Action.WHAT_IF, False, (State.IN_REVIEW, False)),
    (State.IN_REVIEW, False, Action.WITHDRAW, False, (State.WITHDRAWN, False)),
    (State.IN_REVIEW, True, Action.CONFIRM, False, (State.OVERTURNED, False)),
    (State.IN_REVIEW, True, Action.REJECT, False, (State.IN_REVIEW, False)),
    (State.IN_REVIEW, True, Action.NOTE, False, (State.IN_REVIEW, True)),
    (State.IN_REVIEW, True, Action.WITHDRAW, False, (State.WITHDRAWN, False)),
])
def test_each_allowed_move(state, awaiting, action, needs_second, expected) -> None:
    assert next_state(state, action, awaiting_second=awaiting, needs_second=needs_second) == expected


@pytest.mark.parametrize("awaiting", [False, True])
@pytest.mark.parametrize("state", list(State))
def test_every_other_move_is_refused(state, awaiting) -> None:
    allowed = allowed_actions(state, awaiting_second=awaiting)
    for action in Action:
        if action not in allowed:
            assert next_state(state, action, awaiting_second=awaiting) is None


# ------------------------------------------------------------------------------------------ policy per pack
@pytest.mark.parametrize(("pack", "review", "days"), [("CN", "", 15), ("US", "", 30), ("EU", "reply_days = 20", 20),
                                                      ("CN", "reply_days = 10", 10), ("US", "reply_days = 30", 30)])
def test_reply_deadline_per_pack(pack, review, days) -> None:
    policy = ReviewPolicy.from_profile(profile(pack, review))
    assert policy.jurisdiction == pack and policy.reply_days == days
    assert policy.due_date(dt.date(2026, 12, 5)) == dt.date(2026, 12, 5) + dt.timedelta(days=days)
    assert PACK_REPLY_DAYS[pack] in (None, 15, 30)


@pytest.mark.parametrize(("pack", "review", "match"), [
    ("EU", "", r"review\.reply_days.*undue delay"),                     # the lender must bound "without undue delay"
    ("CN", "reply_days = 16", r"at most 15 \(CN\)"),                    # longer than the law allows
    ("US", "reply_days = 31", r"at most 30 \(US\)"),
    ("EU", "reply_days = 400", r"at most 366"),
    ("CN", "holds_decision = 1", r"review\.holds_decision.*true or false"),
    ("CN", "second_reviewer_above = -1", r"second_reviewer_above"),
    ("CN", "sla = 3", r"review\.sla"),
])
def test_bad_review_rules_name_the_field(pack, review, match) -> None:
    # The profile's own schema or the review policy: either refuses it, naming the field.
    with pytest.raises((ReviewInputError, NoticeInputError), match=match):
        ReviewPolicy.from_profile(profile(pack, review))


def test_window_hold_and_threshold_of_the_demo_profile() -> None:
    policy = ReviewPolicy.from_profile(demo_profile())
    assert policy.window_days == 30 and policy.holds_decision is True
    assert policy.last_day(dt.date(2026, 11, 29)) == dt.date(2026, 12, 29)
    assert not policy.needs_second_reviewer(5000) and policy.needs_second_reviewer(5000.01)
    assert ReviewPolicy.from_profile(profile("CN", "holds_decision = false")).holds_decision is False


# ------------------------------------------------------------------------------------------ outcome notices
CASES = {
    "upheld": {"outcome": "upheld", "new_limit": 8000, "closure_withdrawn": False,
               "outcome_reasons": ["reasons_confirmed", "facts_no_change"]},
    "overturned": {"outcome": "overturned", "new_limit": 15000, "closure_withdrawn": False,
                   "outcome_reasons": ["facts_corrected", "circumstances_changed"]},
    "closure_withdrawn": {"outcome": "overturned", "new_limit": 20000, "closure_withdrawn": True,
                          "outcome_reasons": ["assessment_error"]},
}


def inputs(case: str, currency: str = "CNY") -> dict:
    return {**CASES[case], "account_ref": "6222-0001", "currency": currency, "requested_date": "2026-12-01",
            "notice_date": "2026-12-10", "reference": "R3F9-1C07", "locales": list(LOCALES)}


@pytest.fixture(scope="module")
def outcome_notices() -> dict:
    bundle = demo_bundle()
    return {case: render_outcome_notices(inputs(case), profile=bundle.profile, catalog=bundle.catalog)[0]
            for case in CASES}


def _expected(path: Path, actual: str) -> str:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
    if not path.is_file():
        pytest.fail(f"missing golden file {path}; run with UPDATE_GOLDEN=1 and review it")
    return path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("part", list(PARTS))
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", list(CASES))
def test_outcome_notice_matches_golden(outcome_notices, case, locale, part) -> None:
    actual = outcome_notices[case][locale][PARTS[part]]
    if part in ("subject.txt", "short.txt"):
        actual += "\n"
    assert actual == _expected(GOLDEN / case / locale / part, actual)


def test_outcome_notices_say_the_outcome_and_its_reasons(outcome_notices) -> None:
    zh, en = outcome_notices["overturned"]["zh_CN"], outcome_notices["overturned"]["en"]
    assert "我行已更改原决定。您的信用额度现为¥15,000.00。" in zh["text"]
    assert "您提供的信息更正了我行所使用的记录。" in zh["text"] and "自原决定作出后，您的情况已发生变化。" in zh["text"]
    assert "We have changed our decision. Your credit limit is now CN¥15,000.00." in en["text"]
    assert "We have kept our decision." in outcome_notices["upheld"]["en"]["text"]
    assert "撤销关闭您账户" in outcome_notices["closure_withdrawn"]["zh_CN"]["text"]
    assert "2026年12月1日" in zh["text"] and "December 1, 2026" in en["text"]
    assert "12378" in zh["text"]  # CN: the regulator's consumer hotline, to escalate
    for case in CASES:
        text = outcome_notices[case]["zh_CN"]["text"] + outcome_notices[case]["zh_CN"]["short"]
        plain = re.sub(r"\S+@\S+|example\.com\S*", "", text)  # the contact addresses are the lender's own
        assert not re.search(r"[A-Za-z]{4,}", plain), text  # no English in a Chinese notice
        assert len(outcome_notices[case]["zh_CN"]["short"]) <= 70 and len(outcome_notices[case]["en"]["short"]) <= 160
        assert outcome_notices[case]["en"]["html"].count("<li>") == len(CASES[case]["outcome_reasons"])


def test_outcome_notices_are_deterministic_and_carry_each_pack_s_channels() -> None:
    bundle = demo_bundle()
    first = render_outcome_notices(inputs("upheld"), profile=bundle.profile, catalog=bundle.catalog)
    assert render_outcome_notices(inputs("upheld"), profile=bundle.profile, catalog=bundle.catalog) == first
    us = render_outcome_notices(inputs("overturned", "USD"), profile=profile("US"), catalog=bundle.catalog)[0]
    # The US pack's ECOA/FCRA blocks belong to the adverse decision's own notice; the outcome names the lender's
    # channel and the new limit in dollars.
    assert "400-000-0000" in us["en"]["text"] and "$15,000.00" in us["en"]["text"]
    eu = render_outcome_notices(inputs("overturned", "EUR"), profile=profile("EU", "reply_days = 20"),
                                catalog=bundle.catalog)[0]
    assert "€15,000.00" in eu["en"]["text"] and "Example Financial Supervisory Authority" in eu["en"]["text"]


def test_every_outcome_reason_is_phrased(outcome_notices) -> None:
    bundle = demo_bundle()
    for outcome, codes in OUTCOME_REASONS.items():
        case = {**inputs("upheld" if outcome == "upheld" else "overturned"), "outcome_reasons": list(codes)}
        notices = render_outcome_notices(case, profile=bundle.profile, catalog=bundle.catalog)[0]
        for locale in LOCALES:
            assert notices[locale]["html"].count("<li>") == len(codes)
            assert "<li></li>" not in notices[locale]["html"]
