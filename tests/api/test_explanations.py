"""POST /v1/explanations: the analysis of a decision, nothing stored."""

from __future__ import annotations

import pytest
from apihelpers import assert_problem


@pytest.mark.parametrize("role", ["issuer", "agent"])
def test_what_if_is_not_stored(service, accounts, role: str) -> None:
    before = service.store.count()
    body = {"bundle": "german-credit-demo", "features": accounts[0], "decision": "limit_decrease"}
    r = service.client.post("/v1/explanations", json=body, headers=service.auth(role))
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["reasons"] and "notices" not in data and "decision_id" not in data
    assert data["base_value"] + sum(data["group_contributions"].values()) == pytest.approx(data["margin"], abs=1e-6)
    assert service.store.count() == before


def test_what_if_matches_the_issued_decision(service, accounts, decision_body) -> None:
    body = decision_body()
    issued = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer")).json()
    what_if = service.client.post(
        "/v1/explanations",
        json={"bundle": body["bundle"], "features": body["features"], "decision": body["decision"]},
        headers=service.auth("agent"),
    ).json()
    for key in ("score", "margin", "base_value", "reasons", "excluded", "group_contributions", "method"):
        assert what_if[key] == issued[key]


def test_increase_gives_favourable_reasons(service, accounts) -> None:
    body = {"bundle": "german-credit-demo", "features": accounts[1], "decision": "limit_increase"}
    data = service.client.post("/v1/explanations", json=body, headers=service.auth("agent")).json()
    assert all(r["effect"] == "favourable" for r in data["reasons"])


def test_what_if_validates_like_a_decision(service, accounts) -> None:
    body = {"bundle": "german-credit-demo", "features": dict(accounts[0], credit_amount="many"), "decision": "limit_decrease"}
    assert_problem(service.client.post("/v1/explanations", json=body, headers=service.auth("agent")), 422,
                   field="features.credit_amount")
