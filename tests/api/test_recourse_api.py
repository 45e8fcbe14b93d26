"""Recourse through the service: returned with the verified score, stored in the audit record, replayed."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from explain import demo_bundle, demo_data


def _features(i: int) -> dict:
    row = demo_data().iloc[i].to_dict()
    return json.loads(json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}))


def _risk_after(suggestion: dict, features: dict) -> float:
    changed = dict(features, **{c["feature"]: c["value"] for c in suggestion["changes"]})
    return float(demo_bundle().model.predict_proba(pd.DataFrame([changed]))[:, 1][0])


def test_what_if_returns_verified_suggestions(service) -> None:
    features = _features(18)
    body = {"bundle": "german-credit-demo", "features": features, "decision": "limit_decrease"}
    data = service.client.post("/v1/explanations", json=body, headers=service.auth("agent")).json()
    recourse = data["recourse"]
    assert recourse["status"] == "found" and recourse["exact"] and recourse["target"] == 0.4
    assert recourse["score"] == pytest.approx(data["score"], abs=1e-9)
    for suggestion in recourse["suggestions"]:
        assert suggestion["score"] <= recourse["target"]
        assert _risk_after(suggestion, features) == pytest.approx(suggestion["score"], abs=1e-12)
    metrics = service.client.get("/metrics").text
    assert 'explain_recourse_duration_seconds_count{status="found"}' in metrics  # the time, recorded per search
    favourable = service.client.post("/v1/explanations", json={**body, "decision": "limit_increase"},
                                     headers=service.auth("agent")).json()
    assert favourable["recourse"] is None


def test_decision_stores_recourse_and_replays_it(service, decision_body) -> None:
    body = decision_body(features=_features(59))
    issued = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer"))
    assert issued.status_code == 201, issued.text
    data = issued.json()
    assert data["recourse"]["status"] == "found" and data["recourse"]["suggestions"]
    decision_id = data["decision_id"]
    record = service.store.get(decision_id)
    assert record.recourse == data["recourse"]
    assert "_recourse" not in record.inputs  # kept beside the inputs, never shown as one
    stored = service.client.get(f"/v1/decisions/{decision_id}", headers=service.auth("auditor")).json()
    assert stored["recourse"] == data["recourse"]
    report = service.client.post(f"/v1/decisions/{decision_id}/replay", headers=service.auth("auditor")).json()
    assert report["identical"] is True and report["checks"]["recourse"] is True, report
    assert service.client.get("/v1/audit/verify", headers=service.auth("auditor")).json()["ok"] is True


def test_unreachable_target_gives_certificate_and_review_line(service, decision_body) -> None:
    body = decision_body(features=_features(59), recourse_target=0.001)
    data = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer")).json()
    recourse = data["recourse"]
    assert recourse["status"] == "infeasible" and recourse["suggestions"] == []
    assert recourse["certificate"]["best_score"] > 0.001 and recourse["certificate"]["actions"]
    letters = {n["locale"]: n["text"] for n in data["notices"]}
    assert "人工复核" in letters["zh_CN"] and "ask for a person to review it" in letters["en"]
    assert "- If " not in letters["en"]
    report = service.client.post(f"/v1/decisions/{data['decision_id']}/replay", headers=service.auth("auditor")).json()
    assert report["identical"] is True


def test_recourse_target_is_validated(service) -> None:
    body = {"bundle": "german-credit-demo", "features": _features(18), "decision": "limit_decrease",
            "recourse_target": "low"}
    r = service.client.post("/v1/explanations", json=body, headers=service.auth("agent"))
    assert r.status_code == 422 and "recourse_target" in r.text


def test_agent_page_shows_the_recorded_recourse(service, decision_body) -> None:
    import html
    import re

    created = service.client.post("/v1/decisions", json=decision_body(features=_features(59)),
                                  headers=service.auth("issuer")).json()
    blocked = service.client.post("/v1/decisions", json=decision_body(features=_features(59), recourse_target=0.001),
                                  headers=service.auth("issuer")).json()
    service.client.cookies.clear()
    form = service.client.get("/agent/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    service.client.post("/agent/sign-in", data={"csrf": csrf, "key": service.keys["agent"]}, follow_redirects=False)
    for lang, heading, opener, verified in (("en", "What would change this decision", "If ", "(verified)"),
                                           ("zh_CN", "怎样可以改变这一决定", "如果", "（已验证）")):
        page = html.unescape(service.client.get(f"/agent/decisions/{created['decision_id']}?lang={lang}").text)
        section = page.split(heading, 1)[1].split("</section>", 1)[0]
        items = re.findall(r'<span class="recourse-text">(.*?)</span>', section)
        assert len(items) == len(created["recourse"]["suggestions"]) and all(i.startswith(opener) for i in items)
        assert section.count(verified) == len(items)
        page = html.unescape(service.client.get(f"/agent/decisions/{blocked['decision_id']}?lang={lang}").text)
        assert 'id="recourse-review"' in page and 'class="recourse-text"' not in page
