"""Auditors: export, verify (and catch tampering), replay."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa
from apihelpers import assert_problem

from explain.audit._audit import AuditRecord, verify_chain


def _issue(svc, decision_body, n: int, **overrides) -> list[dict]:
    out = []
    for _ in range(n):
        r = svc.client.post("/v1/decisions", json=decision_body(**overrides), headers=svc.auth("issuer"))
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def test_export_jsonl_is_the_chain(fresh_service, decision_body) -> None:
    issued = _issue(fresh_service, decision_body, 3)
    r = fresh_service.client.get("/v1/audit/export", headers=fresh_service.auth("auditor"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [x["decision_id"] for x in lines] == [d["decision_id"] for d in issued]
    assert [x["record_hash"] for x in lines] == [d["record_hash"] for d in issued]
    # An auditor can check the export offline with nothing but the record format.
    assert verify_chain(AuditRecord(**x) for x in lines).ok


def test_export_csv(fresh_service, decision_body) -> None:
    issued = _issue(fresh_service, decision_body, 2)
    r = fresh_service.client.get("/v1/audit/export", params={"format": "csv"}, headers=fresh_service.auth("auditor"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["record_hash"] for row in rows] == [d["record_hash"] for d in issued]
    assert json.loads(rows[0]["reasons"]) == issued[0]["reasons"]


def test_export_by_time(fresh_service, decision_body) -> None:
    issued = _issue(fresh_service, decision_body, 4)
    since, until = issued[1]["created_at"], issued[3]["created_at"]
    r = fresh_service.client.get("/v1/audit/export", params={"since": since, "until": until},
                                 headers=fresh_service.auth("auditor"))
    assert [json.loads(x)["seq"] for x in r.text.splitlines()] == [issued[1]["seq"], issued[2]["seq"]]
    r = fresh_service.client.get("/v1/audit/export", params={"since": "2999-01-01T00:00:00Z"},
                                 headers=fresh_service.auth("auditor"))
    assert r.status_code == 200 and r.text == ""


@pytest.mark.parametrize(
    ("params", "field"),
    [({"format": "xml"}, "format"), ({"since": "yesterday"}, "since"),
     ({"since": "2026-12-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, "until")],
)
def test_export_rejects_bad_parameters(service, params: dict, field: str) -> None:
    assert_problem(service.client.get("/v1/audit/export", params=params, headers=service.auth("auditor")), 422,
                   field=field)


def test_verify_ok(fresh_service, decision_body) -> None:
    issued = _issue(fresh_service, decision_body, 3)
    r = fresh_service.client.get("/v1/audit/verify", headers=fresh_service.auth("auditor"))
    assert r.status_code == 200
    assert r.json() == {"ok": True, "checked": 3, "head_seq": 3, "head_hash": issued[-1]["record_hash"]}


@pytest.mark.parametrize(
    ("column", "value"),
    [("score", "0.5"), ("account_ref", "'someone-else'"), ("new_limit", None), ("notices", None)],
)
def test_tampering_is_reported_at_the_changed_record(fresh_service, decision_body, column: str, value) -> None:
    issued = _issue(fresh_service, decision_body, 4)
    target = issued[2]
    with fresh_service.store.engine.begin() as conn:
        if column == "new_limit":  # edit one value inside the stored inputs
            inputs = json.loads(conn.execute(sa.text("SELECT inputs FROM audit_records WHERE seq = :s"),
                                             {"s": target["seq"]}).scalar_one())
            inputs["new_limit"] = 18000
            conn.execute(sa.text("UPDATE audit_records SET inputs = :v WHERE seq = :s"),
                         {"v": json.dumps(inputs), "s": target["seq"]})
        elif column == "notices":  # rewrite the stored letter text
            notices = json.loads(conn.execute(sa.text("SELECT notices FROM audit_records WHERE seq = :s"),
                                              {"s": target["seq"]}).scalar_one())
            notices["en"]["text"] = notices["en"]["text"].replace("8,000", "18,000")
            conn.execute(sa.text("UPDATE audit_records SET notices = :v WHERE seq = :s"),
                         {"v": json.dumps(notices), "s": target["seq"]})
        else:
            conn.execute(sa.text(f"UPDATE audit_records SET {column} = {value} WHERE seq = :s"), {"s": target["seq"]})
    r = fresh_service.client.get("/v1/audit/verify", headers=fresh_service.auth("auditor"))
    assert r.status_code == 200
    result = r.json()
    assert result["ok"] is False
    assert result["first_bad_seq"] == target["seq"]
    assert result["first_bad_decision_id"] == target["decision_id"]
    assert result["checked"] == 2 and result["problem"]


def test_replay_is_byte_identical(service, decision_body) -> None:
    for body in (decision_body(), decision_body(policy_reasons=["portfolio_tightening"], decision="account_closure",
                                                new_limit=0),
                 decision_body(decision="limit_increase", new_limit=30000, locales=["en"])):
        issued = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer"))
        assert issued.status_code == 201, issued.text
        r = service.client.post(f"/v1/decisions/{issued.json()['decision_id']}/replay", headers=service.auth("auditor"))
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["identical"] is True, report
        assert report["reasons_identical"] and report["notices_identical"]
        assert all(report["checks"].values())
        assert set(report["notices"]) == set(body["locales"])


def test_replay_reports_a_changed_record(fresh_service, decision_body) -> None:
    (issued,) = _issue(fresh_service, decision_body, 1)
    with fresh_service.store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_records SET reasons = '[]' WHERE seq = :s"), {"s": issued["seq"]})
    report = fresh_service.client.post(f"/v1/decisions/{issued['decision_id']}/replay",
                                       headers=fresh_service.auth("auditor")).json()
    assert report["identical"] is False and report["reasons_identical"] is False
    assert report["checks"]["reasons"] is False and report["notices_identical"] is True


def test_replay_unknown_decision_is_404(service) -> None:
    assert_problem(service.client.post("/v1/decisions/nope/replay", headers=service.auth("auditor")), 404)
