"""The service as an attacker meets it: roles from the OpenAPI, hostile parameters, tampered bundles,
template syntax in lender-supplied text."""

from __future__ import annotations

import html
import shutil
from urllib.parse import quote

import pytest
from apihelpers import assert_problem, make_settings
from fastapi.testclient import TestClient

from api.main import create_app
from explain import BundleError, demo_bundle
from explain.audit._store import ROLES


def _operations(service) -> list[tuple[str, str, dict]]:
    spec = service.client.get("/openapi.json").json()
    return [(method.upper(), path, op) for path, methods in spec["paths"].items() for method, op in methods.items()]


def _url(path: str, value: str = "x") -> str:
    out = path
    for name in ("decision_id", "account_ref", "name"):
        out = out.replace("{" + name + "}", quote(value, safe=""))
    return out


def test_every_secured_operation_admits_exactly_its_roles(service) -> None:
    operations = _operations(service)
    secured = [(m, p, op) for m, p, op in operations if op.get("security")]
    assert len(secured) >= 9
    for method, path, op in operations:
        assert bool(op.get("security")) == ("x-roles" in op), f"{method} {path}: security and x-roles disagree"
    for method, path, op in secured:
        allowed = set(op["x-roles"])
        assert allowed and allowed <= set(ROLES)
        for role in ROLES:
            r = service.client.request(method, _url(path), headers={**service.auth(role), "content-type": "application/json"},
                                       content=b"{}" if method == "POST" else None)
            if role in allowed:
                assert r.status_code not in (401, 403), (method, path, role, r.text)
            else:
                body = assert_problem(r, 403)
                assert repr(role) in body["detail"], (method, path, role)
        assert_problem(service.client.request(method, _url(path)), 401)


HOSTILE = [
    "' OR '1'='1",
    "1; DROP TABLE audit_records; --",
    "x' UNION SELECT key_sha256 FROM api_keys --",
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "A\x00B",
    "\x1b[2J\r\nSet-Cookie: x=1",
    "{{ 7*7 }}",
    "{% for x in range(9) %}{% endfor %}",
    "{value.__class__}",
    "%s%s%s%n",
    "<script>alert(1)</script>",
    "9" * 40,
    "-1",
    "数据😀\u202e",
    "x" * 3000,
]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_strings_in_every_path_and_query_parameter_are_harmless(service, decision_body, value: str) -> None:
    issued = service.client.post("/v1/decisions", json=decision_body(), headers=service.auth("issuer"))
    assert issued.status_code == 201
    before = service.store.count()
    for method, path, op in _operations(service):
        role = op.get("x-roles", [None])[-1]
        headers = service.auth(role) if role else {}
        params = [p for p in op.get("parameters", []) if p["in"] in ("path", "query")]
        for param in params:
            url = _url(path, value) if param["in"] == "path" else _url(path)
            query = {param["name"]: value} if param["in"] == "query" else {}
            r = service.client.request(method, url, params=query, headers=headers)
            assert r.status_code < 500, (method, path, param["name"], r.text)
            if r.status_code >= 400:
                assert_problem(r, r.status_code)
            if r.status_code == 200 and path.startswith("/v1/accounts/") and param["in"] == "path":
                assert r.json()["decisions"] == []  # no other account's decisions leak out
    assert service.store.count() == before and service.store.verify().ok


def test_a_bundle_whose_files_do_not_match_its_manifest_is_refused_at_start(tmp_path) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(demo_bundle().path, copy)
    catalog = copy / "catalog.toml"
    catalog.write_text(catalog.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'e.db'}", bundles=[str(copy)]))
    with pytest.raises(BundleError, match="'catalog.toml' does not match its sha256"):
        with TestClient(app):
            pass


TEMPLATE_SYNTAX = "{{ 7*7 }} {% if true %}yes{% endif %} {value.__class__} ${7*7} <b>&</b>"


def test_template_syntax_in_an_account_ref_is_printed_literally(service, decision_body) -> None:
    r = service.client.post("/v1/decisions", json=decision_body(account_ref=TEMPLATE_SYNTAX), headers=service.auth("issuer"))
    assert r.status_code == 201, r.text
    for notice in r.json()["notices"]:
        assert TEMPLATE_SYNTAX in notice["text"], notice["text"]
        assert html.escape(TEMPLATE_SYNTAX, quote=False) in notice["html"] or html.escape(TEMPLATE_SYNTAX) in notice["html"]
        for part in ("subject", "text", "html", "short"):
            assert "<class" not in notice[part] and "49" not in notice[part].replace(TEMPLATE_SYNTAX, "")
            assert "<b>&</b>" not in notice["html"]
    listed = service.client.get(f"/v1/accounts/{quote(TEMPLATE_SYNTAX, safe='')}/decisions", headers=service.auth("agent"))
    assert [d["account_ref"] for d in listed.json()["decisions"]] == [TEMPLATE_SYNTAX]
