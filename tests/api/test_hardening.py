"""Bad bodies, bad parameters, the key before the body, readiness, and who issued each record."""

from __future__ import annotations

import json

import pytest
from apihelpers import assert_problem

import explain.notices._locales as locales


def _post(service, body: bytes | str, role: str | None = "issuer", path: str = "/v1/decisions"):
    headers = {"content-type": "application/json"}
    if role:
        headers.update(service.auth(role))
    return service.client.post(path, content=body, headers=headers)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b'{"account_ref": "a",', "not a JSON document"),
        (b'{"account_ref": "\xff\xfe"}', "not UTF-8"),
        (b"[" * 1000 + b"]" * 1000, "nested too deeply"),
        (b"[" * 50_000, "nested too deeply"),
    ],
)
def test_an_unreadable_body_is_422_naming_body(service, raw: bytes, says: str) -> None:
    body = assert_problem(_post(service, raw), 422, field="body")
    assert says in body["errors"][0]["message"] or says in body["detail"], body


@pytest.mark.parametrize("role", [None, "agent"])
def test_the_key_and_role_are_checked_before_the_body_is_read(service, role: str | None) -> None:
    status = 401 if role is None else 403
    for raw in (b"{not json", b"\xff", b"[" * 5000):
        assert_problem(_post(service, raw, role=role), status)


def test_a_chunked_body_over_the_limit_is_the_same_413(service) -> None:
    def chunks():
        for _ in range(100):
            yield b" " * 1024

    r = service.client.post("/v1/decisions", content=chunks(), headers={**service.auth("issuer"),
                                                                        "content-type": "application/json"})
    body = assert_problem(r, 413, field="body")
    whole = assert_problem(_post(service, b" " * 100_000), 413, field="body")
    assert body["errors"] == whole["errors"] and r.headers["connection"] == "close"


@pytest.mark.parametrize(("change", "field"), [
    ({"notice_date": 0}, "notice_date"),
    ({"notice_date": "1700000000"}, "notice_date"),
    ({"effective_date": 1.5}, "effective_date"),
    ({"old_limit": "20000"}, "old_limit"),
    ({"new_limit": True}, "new_limit"),
    ({"account_ref": "A\x00B"}, "account_ref"),
    ({"account_ref": "line\nbreak"}, "account_ref"),
    ({"policy_reasons": ["x\x00"]}, "policy_reasons[0]"),
])
def test_values_of_the_wrong_type_are_refused_not_coerced(service, decision_body, change, field) -> None:
    r = service.client.post("/v1/decisions", json=decision_body(**change), headers=service.auth("issuer"))
    assert_problem(r, 422, field=field)


def test_a_control_character_in_a_feature_value_names_the_feature(service, decision_body, accounts) -> None:
    features = {**accounts[0], "purpose": "car\x00(new)"}
    r = service.client.post("/v1/decisions", json=decision_body(features=features), headers=service.auth("issuer"))
    assert_problem(r, 422, field="features.purpose")


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/v1/accounts/acc/decisions", {"offset": str(2**63)}, "offset"),
    ("/v1/accounts/acc/decisions", {"offset": "1000001"}, "offset"),
    ("/v1/accounts/acc/decisions", {"limit": "0"}, "limit"),
    ("/v1/audit/export", {"until": "0.5"}, "until"),
    ("/v1/audit/export", {"since": "1700000000"}, "since"),
    ("/v1/accounts/A%00B/decisions", {}, "account_ref"),
    ("/v1/decisions/a%00b", {}, "decision_id"),
    ("/v1/decisions/a%1fb", {"locale": "en"}, "decision_id"),
    ("/v1/decisions/x", {"locale": "e\x00n"}, "locale"),
])
def test_parameters_out_of_bounds_are_422_naming_them(service, path, params, field) -> None:
    assert_problem(service.client.get(path, params=params, headers=service.auth("auditor")), 422, field=field)


def test_nul_in_the_replay_path_is_422(service) -> None:
    assert_problem(service.client.post("/v1/decisions/a%00b/replay", headers=service.auth("auditor")), 422,
                   field="decision_id")


def test_records_carry_the_issuing_key_id_and_name_never_the_key(service, decision_body) -> None:
    key, caller = service.store.create_api_key("issuer", name="lender-x")
    r = service.client.post("/v1/decisions", json=decision_body(), headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201, r.text
    decision_id = r.json()["decision_id"]
    record = service.store.get(decision_id)
    assert (record.issuer_key_id, record.issuer_key_name) == (caller.key_id, "lender-x")
    got = service.client.get(f"/v1/decisions/{decision_id}", headers=service.auth("auditor")).json()
    assert got["issuer"] == {"key_id": caller.key_id, "name": "lender-x"}
    export = service.client.get("/v1/audit/export", headers=service.auth("auditor")).text
    line = next(json.loads(x) for x in export.splitlines() if decision_id in x)
    assert line["issuer_key_id"] == caller.key_id
    assert key.split("_", 2)[2] not in export


def test_readyz_says_the_catalogs_are_missing_and_posts_are_503_not_422(service, decision_body, tmp_path,
                                                                        monkeypatch) -> None:
    monkeypatch.setattr(locales, "catalog_path", lambda locale, _dir=None: tmp_path / locale / "messages.mo")
    locales.get_translations.cache_clear()
    try:
        r = service.client.get("/readyz")
        body = assert_problem(r, 503)
        assert r.headers["retry-after"].isdigit()
        assert "catalogs" in body["problems"] and "database" not in body["problems"] and body["database"] is True
        posted = service.client.post("/v1/decisions", json=decision_body(), headers=service.auth("issuer"))
        assert_problem(posted, 503)
        assert posted.headers["retry-after"].isdigit()
    finally:
        monkeypatch.undo()
        locales.get_translations.cache_clear()
    assert service.client.get("/readyz").status_code == 200


def test_an_unexpected_error_is_a_500_problem_that_closes_the_connection(tmp_path) -> None:
    import sqlalchemy as sa
    from apihelpers import make_settings
    from fastapi.testclient import TestClient

    from api.main import create_app

    app = create_app(make_settings(f"sqlite:///{tmp_path / 'e.db'}", warm_up=False))

    def boom() -> None:
        raise RuntimeError("internal detail that must not leak")

    def refused_value() -> None:  # a database error that is not an outage: a bug, not a 503
        raise sa.exc.DataError("INSERT ...", {}, ValueError("value out of range"))

    app.add_api_route("/boom", boom)
    app.add_api_route("/data-error", refused_value)
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/boom", "/data-error"):
            r = client.get(path)
            body = assert_problem(r, 500)
            assert r.headers["connection"] == "close" and "retry-after" not in r.headers
            assert "internal detail" not in r.text and "out of range" not in r.text and body["instance"] == path
