"""The agent page's access rules without a browser (both stores): sessions, CSRF, roles, the access log."""

from __future__ import annotations

import re

from apihelpers import assert_problem


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _signed_in(client, key: str):  # noqa: ANN001, ANN202
    client.cookies.clear()
    form = client.get("/agent/sign-in")
    return client.post("/agent/sign-in", data={"csrf": _csrf(form.text), "key": key}, follow_redirects=False)


def test_no_session_is_sent_to_sign_in(service) -> None:
    service.client.cookies.clear()
    for path in ("/agent", "/agent/decisions/00000000-0000-0000-0000-000000000000", "/agent/accounts/x"):
        r = service.client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/agent/sign-in", path
    r = service.client.post("/agent/lookup", data={"q": "x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/agent/sign-in"
    # a bearer key is not a page session: the key never travels outside the sign-in form
    r = service.client.get("/agent", headers=service.auth("agent"), follow_redirects=False)
    assert r.status_code == 303


def test_sign_in_sets_a_strict_http_only_session_cookie(service) -> None:
    r = _signed_in(service.client, service.keys["agent"])
    assert r.status_code == 303 and r.headers["location"] == "/agent"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("explain_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/agent" in cookie
    page = service.client.get("/agent")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"] and page.headers["cache-control"] == "no-store"
    assert service.keys["agent"] not in page.text


def test_an_issuer_key_cannot_use_the_page_and_a_bad_key_is_refused(service) -> None:
    r = _signed_in(service.client, service.keys["issuer"])
    assert r.status_code == 403 and "explain_session" not in r.headers.get("set-cookie", "")
    r = _signed_in(service.client, "exk_nope_nope")
    assert r.status_code == 401 and 'aria-invalid="true"' in r.text


def test_form_posts_without_the_session_csrf_token_are_refused(service) -> None:
    form = service.client.get("/agent/sign-in")
    r = service.client.post("/agent/sign-in", data={"csrf": "forged", "key": service.keys["agent"]}, follow_redirects=False)
    assert r.status_code == 400 and "explain_session" not in r.headers.get("set-cookie", "")
    assert _csrf(form.text)
    _signed_in(service.client, service.keys["agent"])
    r = service.client.post("/agent/lookup", data={"q": "x"}, follow_redirects=False)
    assert r.status_code == 403
    r = service.client.post("/agent/lookup", data={"q": "x", "csrf": "wrong"}, follow_redirects=False)
    assert r.status_code == 403


def test_lookups_are_logged_and_the_revoked_key_loses_its_session(service, decision_body) -> None:
    body = decision_body()
    created = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer")).json()
    key, caller = service.store.create_api_key("agent", name="page-reader")
    _signed_in(service.client, key)
    home = service.client.get("/agent")
    r = service.client.post("/agent/lookup", data={"q": body["account_ref"], "csrf": _csrf(home.text)},
                            follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/agent/accounts/")
    assert service.client.get(r.headers["location"]).status_code == 200
    r = service.client.post("/agent/lookup", data={"q": created["decision_id"], "csrf": _csrf(home.text)},
                            follow_redirects=False)
    assert r.headers["location"] == f"/agent/decisions/{created['decision_id']}"
    page = service.client.get(r.headers["location"] + "?lang=en")
    assert page.status_code == 200 and 'lang="en"' in page.text
    reads = [e for e in service.store.access_log(account_ref=body["account_ref"]) if e.key_id == caller.key_id]
    assert [(e.decision_id, e.via, e.role) for e in reads] == [(created["decision_id"], "page", "agent")] * 2
    service.store.revoke_api_key(caller.key_id)
    assert service.client.get("/agent", follow_redirects=False).status_code == 303


def test_unknown_decision_is_a_page_not_a_crash(service) -> None:
    _signed_in(service.client, service.keys["auditor"])
    r = service.client.get("/agent/decisions/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404 and 'role="alert"' in r.text


def test_report_is_for_auditors_only(service) -> None:
    assert_problem(service.client.get("/v1/audit/report", headers=service.auth("agent")), 403)
    assert_problem(service.client.get("/v1/audit/report"), 401)
    r = service.client.get("/v1/audit/report", params={"format": "json", "sample": 2}, headers=service.auth("auditor"))
    assert r.status_code == 200 and r.json()["total"] == service.store.count()
    assert_problem(service.client.get("/v1/audit/report", params={"since": "2026-12-01T00:00:00Z",
                                                                 "until": "2026-11-01T00:00:00Z"},
                                      headers=service.auth("auditor")), 422, field="until")
    r = service.client.get("/v1/audit/report", params={"locale": "en", "sample": 0}, headers=service.auth("auditor"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html") and "Compliance report" in r.text


def test_a_reason_flagged_counter_intuitive_is_marked_on_the_page(service, decision_body) -> None:
    import dataclasses

    created = service.client.post("/v1/decisions", json=decision_body(), headers=service.auth("issuer")).json()
    record = service.store.get(created["decision_id"])
    model = next(i for i, r in enumerate(record.reasons) if r["source"] == "model")
    reasons = [dict(r, counter_intuitive=(i == model)) for i, r in enumerate(record.reasons)]
    flagged = service.store.append(dataclasses.replace(record, decision_id=record.decision_id[:-4] + "ffff",
                                                       reasons=reasons)).record
    _signed_in(service.client, service.keys["agent"])
    for lang, badge in (("en", "counter-intuitive: check before explaining"), ("zh_CN", "与预期方向相反：解释前请核实")):
        page = service.client.get(f"/agent/decisions/{flagged.decision_id}?lang={lang}")
        assert page.status_code == 200 and page.text.count(badge) == 1
        item = re.search(rf'<li data-code="{reasons[model]["code"]}">(.*?)</li>', page.text, re.S).group(1)
        assert badge in item


def test_the_page_speaks_hong_kong_and_taiwan_chinese(service, decision_body) -> None:
    """The language switch offers every locale in its own words; zh-HK / zh-TW pages and the notices in them."""
    created = service.client.post("/v1/decisions", json=decision_body(locales=["zh-HK", "zh-TW"]),
                                  headers=service.auth("issuer")).json()
    _signed_in(service.client, service.keys["agent"])
    page = service.client.get(f"/agent/decisions/{created['decision_id']}?lang=zh-HK")
    assert page.status_code == 200 and '<html lang="zh-HK"' in page.text
    for code, tag, name in (("zh_CN", "zh-CN", "简体中文"), ("en", "en", "English"), ("zh_TW", "zh-TW", "繁體中文（台灣）")):
        assert f'hreflang="{tag}" lang="{tag}" id="switch-{code}">{name}</a>' in page.text
    assert "登出" in page.text and "退出" not in page.text  # the page's own words are Hong Kong's
    assert "繁體中文（香港）" in page.text and "賬戶" in page.text and "帳戶" in page.text  # both notices shown
