"""The frame-free path for one account (``explain.attribution._one_row``) gives what the frame path gives, bit
for bit: reasons, scores, contributions, recourse (suggestions re-scored by the model) and the rendered
notices; and any input it is not sure of goes to the frame path, which words the error."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from explain import FeatureMismatchError
from explain.attribution._one_row import explain_row
from explain.audit._audit import canonical_json
from explain.audit._replay import analyse, compute, recourse_for
from explain.recourse._solver import find_recourse, find_recourse_row

DECISIONS = ("limit_decrease", "account_closure", "limit_increase", "increase_declined")


def _plain(frame: pd.DataFrame) -> list[dict]:
    """Rows as a parsed JSON request carries them (Python ints, floats and strings)."""
    return json.loads(frame.to_json(orient="records"))


@pytest.fixture(scope="module")
def accounts(bundle, german) -> list[dict]:
    X, _ = german
    scores = bundle.explainer().explain(X).scores
    order = np.argsort(-scores, kind="stable")
    # the riskiest (recourse found, verified by the model), a spread of the rest, the safest (target met)
    picked = list(order[:8]) + list(order[8::120]) + [order[-1]]
    return _plain(X.iloc[picked])


def test_reasons_are_the_frame_paths_bit_for_bit(bundle, accounts):
    explainer = bundle.explainer()
    taken = 0
    for features in accounts:
        one = explain_row(explainer, features)
        assert one is not None  # plainly valid rows take the frame-free path
        taken += 1
        for decision in DECISIONS:
            fast = explainer.reasons_for(features, decision=decision)
            frame = explainer.reasons(pd.DataFrame([features]), decision=decision)[0]
            assert fast == frame
            assert fast.to_json() == frame.to_json()
    assert taken == len(accounts)


def test_recourse_and_notices_are_the_frame_paths(bundle, accounts):
    found = 0
    for features in accounts:
        one = explain_row(bundle.explainer(), features)
        fast = find_recourse_row(bundle, one, "limit_decrease").to_dict()
        frame = find_recourse(bundle, pd.DataFrame([features]), "limit_decrease").to_dict()
        fast.pop("elapsed_ms", None), frame.pop("elapsed_ms", None)
        assert fast == frame
        found += fast["status"] == "found"
        reasons = analyse(bundle, features, "limit_decrease", one=None)  # one=None: the frame path
        if not reasons.reasons:
            continue  # nothing adverse to say: no notice for a decrease
        inputs = {"account_ref": "acc-1", "bundle": bundle.name, "features": features, "decision": "limit_decrease",
                  "old_limit": 20000, "new_limit": 8000, "currency": "CNY", "effective_date": "2026-12-31",
                  "notice_date": "2026-11-29", "policy_reasons": [], "locales": ["zh_CN", "en"], "channels": ["letter"]}
        computed = compute(bundle, inputs)
        assert computed.reasons == reasons
        assert computed.recourse_payload == json.loads(canonical_json(recourse_for(bundle, inputs).to_dict()))
    assert found >= 4  # suggestions were verified by the model on rows encoded without a frame


@pytest.mark.parametrize("change", [
    {"purpose": "spaceship"},            # unknown category
    {"credit_amount": "1000"},           # a number as text
    {"credit_amount": True},             # a boolean is no amount
    {"credit_amount": None},             # missing
    {"duration_in_month": -1},           # outside its declared range (months are 0 or more)
    {"age_in_years": 10**20},            # past exact floats
])
def test_inputs_it_is_not_sure_of_take_the_frame_path(bundle, accounts, change):
    explainer = bundle.explainer()
    features = {**accounts[0], **change}
    assert explain_row(explainer, features) is None
    try:
        expected = explainer.reasons(pd.DataFrame([features]), decision="limit_decrease")[0]
    except FeatureMismatchError as exc:
        with pytest.raises(FeatureMismatchError) as raised:
            explainer.reasons_for(features, decision="limit_decrease")
        assert str(raised.value) == str(exc)
    else:
        assert explainer.reasons_for(features, decision="limit_decrease") == expected


def test_missing_or_extra_inputs_take_the_frame_path(bundle, accounts):
    explainer = bundle.explainer()
    fewer = dict(accounts[0])
    fewer.pop("purpose")
    assert explain_row(explainer, fewer) is None
    assert explain_row(explainer, {**accounts[0], "shoe_size": 42}) is None
    for features in (fewer, {**accounts[0], "shoe_size": 42}):
        with pytest.raises(FeatureMismatchError) as raised:
            explainer.reasons_for(features, decision="limit_decrease")
        with pytest.raises(FeatureMismatchError) as expected:
            explainer.reasons(pd.DataFrame([features]), decision="limit_decrease")
        assert str(raised.value) == str(expected.value)
