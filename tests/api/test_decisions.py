"""POST /v1/decisions and reading decisions back."""

from __future__ import annotations

import json

import pytest
from apihelpers import assert_problem

from explain import demo_bundle


def test_issue_a_decision(service, decision_body) -> None:
    body = decision_body()
    r = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer"))
    assert r.status_code == 201, r.text
    data = r.json()
    assert r.headers["location"] == f"/v1/decisions/{data['decision_id']}"
    assert data["account_ref"] == body["account_ref"] and data["decision"] == "limit_decrease"
    bundle = demo_bundle()
    assert data["bundle"] == {"name": bundle.name, "version": str(bundle.version), "sha256": bundle.sha256}
    assert 0 < data["score"] < 1
    assert data["reasons"] and all(r["effect"] == "adverse" for r in data["reasons"])
    assert all("contribution" in r for r in data["reasons"])
    # additivity: base value + grouped contributions == margin
    assert data["base_value"] + sum(data["group_contributions"].values()) == pytest.approx(data["margin"], abs=1e-6)
    assert [n["locale"] for n in data["notices"]] == ["zh_CN", "en"]
    for notice in data["notices"]:
        assert notice["subject"] and notice["text"] and notice["html"] and notice["short"]
        assert notice["channels"] == ["letter", "short"]
    assert len(data["record_hash"]) == 64 and data["seq"] >= 1


def test_default_locales_are_both(service, decision_body) -> None:
    body = decision_body()
    del body["locales"]
    r = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer"))
    assert r.status_code == 201, r.text
    assert sorted(n["locale"] for n in r.json()["notices"]) == ["en", "zh_CN"]


def test_policy_reasons_come_first(service, decision_body) -> None:
    body = decision_body(policy_reasons=["overdue_repayment"])
    r = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer"))
    assert r.status_code == 201, r.text
    first = r.json()["reasons"][0]
    assert first["code"] == "overdue_repayment" and first["source"] == "policy"


@pytest.mark.parametrize("role", ["agent", "auditor"])
def test_read_back_a_decision(service, decision_body, role: str) -> None:
    created = service.client.post("/v1/decisions", json=decision_body(), headers=service.auth("issuer")).json()
    r = service.client.get(f"/v1/decisions/{created['decision_id']}", headers=service.auth(role))
    assert r.status_code == 200, r.text
    stored = r.json()
    for key in ("decision_id", "seq", "created_at", "record_hash", "score", "reasons", "group_contributions"):
        assert stored[key] == created[key]
    assert stored["notices"] == created["notices"]
    assert stored["reader"] is None
    assert {"bundle", "catalog_sha256", "template_sha256", "background_sha256", "prev_hash", "notice_hashes"} <= stored.keys()


@pytest.mark.parametrize(("locale", "expected"), [("en", "en"), ("zh-CN", "zh_CN"), ("zh_CN", "zh_CN"),
                                                  ("zh-HK", "zh_HK"), ("zh-Hant-TW", "zh_TW")])
def test_reader_locale_is_independent_of_the_customers(service, decision_body, locale: str, expected: str) -> None:
    created = service.client.post("/v1/decisions", json=decision_body(locales=["zh_CN"]),
                                  headers=service.auth("issuer")).json()
    r = service.client.get(f"/v1/decisions/{created['decision_id']}", params={"locale": locale},
                           headers=service.auth("agent"))
    assert r.status_code == 200, r.text
    reader = r.json()["reader"]
    assert reader["locale"] == expected
    assert [x["code"] for x in reader["reasons"]] == [x["code"] for x in created["reasons"]]
    assert all(x["label"] and x["text"] for x in reader["reasons"])
    assert [n["locale"] for n in r.json()["notices"]] == ["zh_CN"]  # the customer's notice is untouched


def test_traditional_chinese_notices_and_the_lenders_currency(service, decision_body) -> None:
    """locale=zh-HK / zh-TW are accepted, negotiated once and stored as zh_HK / zh_TW; without a currency the
    decision is in the lender profile's (the demo's: CNY)."""
    body = decision_body(locales=["zh-HK", "zh-Hant-TW", "en"])
    body.pop("currency", None)
    created = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer"))
    assert created.status_code in (200, 201), created.text
    notices = {n["locale"]: n for n in created.json()["notices"]}
    assert list(notices) == ["zh_HK", "zh_TW", "en"]
    hk, tw = notices["zh_HK"]["text"], notices["zh_TW"]["text"]
    assert "額度" in hk and "賬戶" in hk and "额度" not in hk
    assert "額度" in tw and "帳戶" in tw and "账户" not in tw
    assert "¥" in hk  # CNY, the demo profile's currency, as zh_Hant_HK writes it
    stored = service.client.get(f"/v1/decisions/{created.json()['decision_id']}", headers=service.auth("agent")).json()
    assert stored["notices"] == created.json()["notices"]


def test_reader_locale_must_be_supported(service, decision_body) -> None:
    created = service.client.post("/v1/decisions", json=decision_body(), headers=service.auth("issuer")).json()
    r = service.client.get(f"/v1/decisions/{created['decision_id']}", params={"locale": "fr"},
                           headers=service.auth("agent"))
    assert_problem(r, 422, field="locale")


def test_list_an_accounts_decisions_newest_first(service, decision_body) -> None:
    body = decision_body()
    ids = [service.client.post("/v1/decisions", json=dict(body, new_limit=8000 - i * 1000),
                               headers=service.auth("issuer")).json()["decision_id"] for i in range(3)]
    r = service.client.get(f"/v1/accounts/{body['account_ref']}/decisions", params={"locale": "en"},
                           headers=service.auth("auditor"))
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["account_ref"] == body["account_ref"]
    assert [d["decision_id"] for d in data["decisions"]] == ids[::-1]
    assert all(d["reader"]["locale"] == "en" for d in data["decisions"])
    assert service.client.get("/v1/accounts/nobody-at-all/decisions", headers=service.auth("agent")).json()["decisions"] == []


def test_unknown_decision_is_404(service) -> None:
    r = service.client.get("/v1/decisions/00000000-0000-0000-0000-000000000000", headers=service.auth("agent"))
    body = assert_problem(r, 404)
    assert "00000000-0000-0000-0000-000000000000" in body["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"decision": "limit_freeze"}, "decision"),
        ({"old_limit": -5}, "old_limit"),
        ({"old_limit": "lots"}, "old_limit"),
        ({"currency": "yuan"}, "currency"),
        ({"effective_date": "31/12/2026"}, "effective_date"),
        ({"channels": ["pigeon"]}, "channels[0]"),
        ({"locales": ["fr"]}, "locales[0]"),
        ({"policy_reasons": ["bad_vibes"]}, "policy_reasons"),
        ({"bundle": "no-such-bundle"}, "bundle"),
        ({"surprise": 1}, "surprise"),
        ({"account_ref": ""}, "account_ref"),
        ({"decision": "limit_increase", "new_limit": 30000, "policy_reasons": ["overdue_repayment"]}, "policy_reasons"),
        ({"old_limit": 1e300, "new_limit": 1e299}, "old_limit"),
    ],
)
def test_invalid_input_is_422_naming_the_field(service, decision_body, change: dict, field: str) -> None:
    r = service.client.post("/v1/decisions", json=decision_body(**change), headers=service.auth("issuer"))
    body = assert_problem(r, 422, field=field)
    assert all(e.get("expected") and e.get("message") for e in body["errors"]), body["errors"]


def test_a_422_says_what_was_expected(service, decision_body) -> None:
    r = service.client.post("/v1/decisions", json=decision_body(old_limit="lots", decision="freeze"),
                            headers=service.auth("issuer"))
    errors = {e["field"]: e for e in assert_problem(r, 422)["errors"]}
    assert errors["old_limit"]["expected"] == "a number"
    assert "'limit_decrease'" in errors["decision"]["expected"]


def test_missing_field_is_422(service, decision_body) -> None:
    body = decision_body()
    del body["old_limit"]
    assert_problem(service.client.post("/v1/decisions", json=body, headers=service.auth("issuer")), 422, field="old_limit")


def test_feature_errors_name_the_feature(service, decision_body, accounts) -> None:
    features = dict(accounts[0])
    del features["duration_in_month"]
    r = service.client.post("/v1/decisions", json=decision_body(features=features), headers=service.auth("issuer"))
    assert_problem(r, 422, field="features.duration_in_month")
    features = dict(accounts[0], purpose="a yacht")
    r = service.client.post("/v1/decisions", json=decision_body(features=features), headers=service.auth("issuer"))
    assert_problem(r, 422, field="features.purpose")
    features = dict(accounts[0], purpose=None)  # the demo encoder never saw a missing purpose
    r = service.client.post("/v1/decisions", json=decision_body(features=features), headers=service.auth("issuer"))
    assert_problem(r, 422, field="features.purpose")
    r = service.client.post("/v1/decisions", headers={**service.auth("issuer"), "Content-Type": "application/json"},
                            content=json.dumps(decision_body(features=dict(accounts[0], credit_amount=float("inf")))))
    assert_problem(r, 422, field="features.credit_amount")
    features = dict(accounts[0], favourite_colour="blue")
    r = service.client.post("/v1/decisions", json=decision_body(features=features), headers=service.auth("issuer"))
    assert_problem(r, 422, field="features.favourite_colour")


def test_malformed_json_is_422(service) -> None:
    r = service.client.post("/v1/decisions", content=b"{not json", headers={**service.auth("issuer"),
                                                                            "content-type": "application/json"})
    assert_problem(r, 422)


def test_oversized_body_is_413(service, decision_body) -> None:
    body = decision_body(account_ref="x" * 100, features={"pad": "y" * 70_000})
    r = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer"))
    assert_problem(r, 413)


def test_rejected_requests_store_nothing(service, decision_body) -> None:
    body = decision_body(policy_reasons=["bad_vibes"])
    service.client.post("/v1/decisions", json=body, headers=service.auth("issuer"))
    r = service.client.get(f"/v1/accounts/{body['account_ref']}/decisions", headers=service.auth("agent"))
    assert r.json()["decisions"] == []
