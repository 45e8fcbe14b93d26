"""Every endpoint, every role: no key or an unknown key is 401, the wrong role 403."""

from __future__ import annotations

import pytest
from apihelpers import assert_problem

ID = "00000000-0000-0000-0000-000000000000"
# (method, path, roles allowed)
ENDPOINTS = [
    ("POST", "/v1/decisions", {"issuer"}),
    ("POST", "/v1/explanations", {"issuer", "agent"}),
    ("GET", f"/v1/decisions/{ID}", {"agent", "auditor"}),
    ("GET", "/v1/accounts/acc/decisions", {"agent", "auditor"}),
    ("GET", "/v1/bundles", {"issuer", "agent", "auditor"}),
    ("GET", "/v1/bundles/german-credit-demo", {"issuer", "agent", "auditor"}),
    ("GET", "/v1/audit/export", {"auditor"}),
    ("GET", "/v1/audit/verify", {"auditor"}),
    ("POST", f"/v1/decisions/{ID}/replay", {"auditor"}),
]


@pytest.mark.parametrize(("method", "path", "roles"), ENDPOINTS)
def test_no_key_is_401(service, method: str, path: str, roles: set[str]) -> None:
    r = service.client.request(method, path)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "roles"), ENDPOINTS)
@pytest.mark.parametrize("key", ["exk_0123456789abcdef_notarealsecret", "garbage", ""])
def test_unknown_key_is_401(service, method: str, path: str, roles: set[str], key: str) -> None:
    r = service.client.request(method, path, headers={"Authorization": f"Bearer {key}"})
    assert_problem(r, 401)


def test_tampered_key_is_401(service) -> None:
    key = service.keys["auditor"]
    forged = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
    assert_problem(service.client.get("/v1/audit/verify", headers={"Authorization": f"Bearer {forged}"}), 401)
    assert_problem(service.client.get("/v1/audit/verify", headers={"Authorization": f"Basic {key}"}), 401)


@pytest.mark.parametrize(("method", "path", "roles"), ENDPOINTS)
@pytest.mark.parametrize("role", ["issuer", "agent", "auditor"])
def test_roles(service, method: str, path: str, roles: set[str], role: str) -> None:
    r = service.client.request(method, path, headers=service.auth(role))
    if role in roles:
        assert r.status_code not in (401, 403), r.text
    else:
        body = assert_problem(r, 403)
        assert repr(role) in body["detail"]


def test_a_revoked_key_stops_working(fresh_service) -> None:
    key, caller = fresh_service.store.create_api_key("agent", name="leaver")
    headers = {"Authorization": f"Bearer {key}"}
    assert fresh_service.client.get("/v1/bundles", headers=headers).status_code == 200
    fresh_service.store.revoke_api_key(caller.key_id)
    assert_problem(fresh_service.client.get("/v1/bundles", headers=headers), 401)
