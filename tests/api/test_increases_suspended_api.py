"""The fifth decision kind through the service: issued, read back, replayed byte for byte, refused when the
inputs contradict it (the field named), explained with recourse against the lender's declared target."""

from __future__ import annotations

import json
import re

from apihelpers import assert_problem

from explain import demo_data


def _features(i: int) -> dict:
    row = demo_data().iloc[i].to_dict()
    return json.loads(json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}))


def test_issue_read_back_and_replay_a_suspension(service, decision_body) -> None:
    kept = decision_body(decision="increases_suspended", new_limit=20000, effective_date=None,
                         policy_reasons=["unusual_account_activity"], review_date="2027-06-01")
    lowered = decision_body(decision="increases_suspended", new_limit=12000, effective_date=None,
                            policy_reasons=["overdue_repayment"])
    for body in (kept, lowered):
        issued = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer"))
        assert issued.status_code == 201, issued.text
        data = issued.json()
        assert data["decision"] == "increases_suspended"
        assert data["reasons"][0]["code"] == body["policy_reasons"][0]
        assert 2 <= len(data["reasons"]) <= 4 and all(r["effect"] == "adverse" for r in data["reasons"])
        notices = {n["locale"]: n for n in data["notices"]}
        zh, en = notices["zh_CN"], notices["en"]
        assert zh["subject"] == "关于暂停提升您信用额度的通知"
        assert en["subject"] == "We have paused increases to your credit limit"
        if body is kept:
            assert "我行将于2027年6月1日后重新评估您的账户。" in zh["text"]
            assert "We will look at your account again after June 1, 2027." in en["text"]
            assert "您的信用额度维持¥20,000.00不变。本决定自2026年11月29日起适用。" in zh["text"]
            assert "降至" not in zh["short"] and "额度仍为¥20,000" in zh["short"]
        else:
            assert "重新评估" in zh["text"] and "2027" not in zh["text"]  # no date promised
            assert "We are also lowering your credit limit from CN¥20,000.00 to CN¥12,000.00." in en["text"]
            assert "The new limit starts on December 29, 2026." in en["text"]  # the profile's 30-day notice period
            assert "额度将于12月29日降至¥12,000" in zh["short"]

        got = service.client.get(f"/v1/decisions/{data['decision_id']}", headers=service.auth("agent")).json()
        assert got["notices"] == data["notices"]
        assert got["inputs"].get("review_date") == body.get("review_date")
        replay = service.client.post(f"/v1/decisions/{data['decision_id']}/replay", headers=service.auth("auditor"))
        assert replay.status_code == 200, replay.text
        report = replay.json()
        assert report["identical"] is True and report["notices_identical"] and all(report["checks"].values()), report


def test_contradicting_inputs_are_422_naming_the_field(service, decision_body) -> None:
    cases = [
        (decision_body(decision="increases_suspended", new_limit=25000, policy_reasons=["overdue_repayment"]),
         "new_limit", "to keep it, or a lower one to lower it too"),
        (decision_body(decision="increases_suspended", new_limit=0, policy_reasons=["overdue_repayment"]),
         "new_limit", "a limit of 0 is an account_closure"),
        (decision_body(review_date="2027-06-01"), "review_date", "only an increases_suspended has one"),
        (decision_body(decision="increases_suspended", new_limit=20000, policy_reasons=["overdue_repayment"],
                       review_date="2026-11-29"), "review_date", "after the notice date (2026-11-29)"),
    ]
    for body, field, words in cases:
        r = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer"))
        assert_problem(r, 422)
        errors = r.json()["errors"]
        assert [e["field"] for e in errors] == [field], errors
        assert words in errors[0]["expected"], errors


def test_what_if_gives_recourse_against_the_declared_target(service) -> None:
    body = {"bundle": "german-credit-demo", "features": _features(18), "decision": "increases_suspended"}
    data = service.client.post("/v1/explanations", json=body, headers=service.auth("agent")).json()
    assert data["reasons"] and all(r["effect"] == "adverse" for r in data["reasons"])
    # The demo lender declares increases resume at the score an increase is granted at (0.3).
    assert data["recourse"]["decision"] == "increases_suspended" and data["recourse"]["target"] == 0.3
    assert data["recourse"]["status"] in ("found", "target_met", "infeasible")


def test_the_agent_page_names_the_kind_and_the_review_date_in_the_agents_language(service, decision_body) -> None:
    body = decision_body(decision="increases_suspended", new_limit=20000, policy_reasons=["overdue_repayment"],
                         review_date="2027-06-01", effective_date=None)
    created = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer")).json()
    service.client.cookies.clear()
    form = service.client.get("/agent/sign-in").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    page = service.client.post("/agent/sign-in", data={"csrf": csrf, "key": service.keys["agent"]},
                               follow_redirects=False)
    assert page.status_code == 303, page.text
    for lang, kind, date in (("en", "Increases suspended", "June 1, 2027"), ("zh_CN", "暂停提额", "2027年6月1日")):
        page = service.client.get(f"/agent/decisions/{created['decision_id']}?lang={lang}")
        assert page.status_code == 200, page.text
        assert f"<h1>{kind} · " in page.text
        assert f'<dd id="review-date">{date}</dd>' in page.text
