"""The whole service once through a real uvicorn process (``explain serve``), over HTTP."""

from __future__ import annotations

import json

import httpx
import pytest
from apihelpers import assert_problem
from liveserver import running_server

from explain.audit._store import AuditStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory, accounts):
    directory = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{directory / 'explain.db'}"
    with running_server(url, log_path=directory / "server.log") as base:
        store = AuditStore(url)
        keys = {role: store.create_api_key(role)[0] for role in ("issuer", "agent", "auditor")}
        store.close()
        with httpx.Client(base_url=base, timeout=30) as client:
            yield client, {role: {"Authorization": f"Bearer {key}"} for role, key in keys.items()}


def _body(accounts, **overrides):
    body = {"account_ref": "live-1", "bundle": "german-credit-demo", "features": accounts[0],
            "decision": "limit_decrease", "old_limit": 20000, "new_limit": 8000, "currency": "CNY",
            "notice_date": "2026-11-29", "effective_date": "2026-12-31"}
    body.update(overrides)
    return body


def test_every_endpoint_over_http(live, accounts) -> None:
    client, auth = live
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["database"] is True
    assert client.get("/openapi.json").json()["info"]["title"] == "limit-explain"
    assert client.get("/docs").status_code == 200

    r = client.post("/v1/decisions", json=_body(accounts), headers={**auth["issuer"], "Idempotency-Key": "live-k"})
    assert r.status_code == 201, r.text
    issued = r.json()
    again = client.post("/v1/decisions", json=_body(accounts), headers={**auth["issuer"], "Idempotency-Key": "live-k"})
    assert again.content == r.content

    what_if = client.post("/v1/explanations", headers=auth["agent"],
                          json={"bundle": "german-credit-demo", "features": accounts[0], "decision": "limit_decrease"})
    assert what_if.status_code == 200 and what_if.json()["reasons"] == issued["reasons"]

    got = client.get(f"/v1/decisions/{issued['decision_id']}", params={"locale": "en"}, headers=auth["agent"])
    assert got.status_code == 200 and got.json()["reader"]["locale"] == "en"
    listed = client.get("/v1/accounts/live-1/decisions", headers=auth["auditor"]).json()["decisions"]
    assert [d["decision_id"] for d in listed] == [issued["decision_id"]]
    assert client.get("/v1/bundles", headers=auth["agent"]).json()["bundles"][0]["name"] == "german-credit-demo"
    assert client.get("/v1/bundles/german-credit-demo", headers=auth["agent"]).status_code == 200

    export = client.get("/v1/audit/export", headers=auth["auditor"])
    assert [json.loads(x)["decision_id"] for x in export.text.splitlines()] == [issued["decision_id"]]
    assert client.get("/v1/audit/export", params={"format": "csv"}, headers=auth["auditor"]).text.startswith("seq,")
    assert client.get("/v1/audit/verify", headers=auth["auditor"]).json()["ok"] is True
    replay = client.post(f"/v1/decisions/{issued['decision_id']}/replay", headers=auth["auditor"]).json()
    assert replay["identical"] is True

    metrics = client.get("/metrics").text
    assert 'explain_notices_total{channel="letter",kind="limit_decrease",locale="zh_CN"} 1.0' in metrics


def test_errors_over_http(live, accounts) -> None:
    client, auth = live
    assert_problem(client.post("/v1/decisions", json=_body(accounts)), 401)
    assert_problem(client.post("/v1/decisions", json=_body(accounts), headers={"Authorization": "Bearer nope"}), 401)
    assert_problem(client.post("/v1/decisions", json=_body(accounts), headers=auth["agent"]), 403)
    assert_problem(client.post("/v1/decisions", json=_body(accounts, decision="freeze"), headers=auth["issuer"]), 422,
                   field="decision")
    assert_problem(client.get("/v1/decisions/unknown", headers=auth["agent"]), 404)
    big = json.dumps(_body(accounts, account_ref="x" * 70_000)).encode()
    assert_problem(client.post("/v1/decisions", content=big, headers={**auth["issuer"], "content-type": "application/json"}),
                   413)

    def chunks():  # no Content-Length: the limit is enforced while the body streams in
        for _ in range(100):
            yield b" " * 1024

    assert_problem(client.post("/v1/decisions", content=chunks(),
                               headers={**auth["issuer"], "content-type": "application/json"}), 413)
