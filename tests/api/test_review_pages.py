"""The review pages without a browser: who may sign in and act, CSRF on every form, the strict CSP, the queue's
filters and the held mark on the decision page (the browser walk is test_review_page_browser.py)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

TODAY = dt.datetime.now(dt.UTC).date().isoformat()


def sign_in(client, key: str) -> str:
    """Sign in with ``key``; the session's CSRF token."""
    client.cookies.clear()
    page = client.get("/agent/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/agent/sign-in", data={"csrf": csrf, "key": key}, follow_redirects=False)
    assert r.status_code == 303, r.text
    home = client.get("/agent")
    return re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)


@pytest.fixture
def review(service, decision_body) -> dict:
    body = decision_body(**{"notice_date": TODAY, "effective_date": None})
    issued = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer")).json()
    r = service.client.post(f"/v1/decisions/{issued['decision_id']}/reviews", headers=service.auth("issuer"),
                            json={"statement": "<script>alert(1)</script> please look again", "channel": "web"})
    assert r.status_code == 201, r.text
    return r.json()


def test_pages_show_the_queue_and_the_review_with_a_strict_csp(service, review) -> None:
    client = service.client
    sign_in(client, service.keys["agent"])
    queue = client.get("/agent/reviews", params={"state": "requested", "lang": "en"})
    assert queue.status_code == 200 and review["review_id"] in queue.text
    assert queue.headers["content-security-policy"].startswith("default-src 'none'")
    page = client.get(f"/agent/reviews/{review['review_id']}")
    assert page.status_code == 200
    assert 'id="held"' in page.text and 'id="triage"' in page.text and 'id="decide-form"' not in page.text
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text  # the customer's words, escaped
    decision = client.get(f"/agent/decisions/{review['decision_id']}")
    assert 'id="open-review"' in decision.text and "held" in decision.text
    none = client.get("/agent/reviews", params={"due_before": "2000-01-01"})
    assert review["review_id"] not in none.text


def test_forms_need_the_session_csrf_token(service, review) -> None:
    client = service.client
    csrf = sign_in(client, service.keys["agent"])
    url = f"/agent/reviews/{review['review_id']}/act"
    assert client.post(url, data={"action": "triage"}, follow_redirects=False).status_code == 403
    assert client.post(url, data={"action": "triage", "csrf": "forged"}, follow_redirects=False).status_code == 403
    r = client.post(url, data={"action": "triage", "csrf": csrf, "rationale": "ok"}, follow_redirects=False)
    assert r.status_code == 303
    again = client.post(url, data={"action": "triage", "csrf": csrf}, follow_redirects=False)
    # the refusal in the page's language (Chinese by default), never the exception's English
    assert again.status_code == 409 and 'data-code="transition"' in again.text and "该步骤现在不能执行" in again.text
    assert "Allowed moves" not in again.text
    again = client.post(url, params={"lang": "en"}, data={"action": "triage", "csrf": csrf}, follow_redirects=False)
    assert again.status_code == 409 and "This step cannot be taken now: the review is In review." in again.text


def test_a_reviewer_signs_in_and_an_agent_cannot_decide(service, review) -> None:
    client = service.client
    csrf = sign_in(client, service.keys["agent"])
    url = f"/agent/reviews/{review['review_id']}/act"
    client.post(url, data={"action": "triage", "csrf": csrf}, follow_redirects=False)
    r = client.post(url, data={"action": "uphold", "csrf": csrf, "rationale": "x", "r_reasons_confirmed": "1"})
    assert r.status_code == 403 and 'data-code="role"' in r.text and "您的密钥角色不能执行该步骤" in r.text
    key, _ = service.store.create_api_key("reviewer", name="page-reviewer")
    csrf = sign_in(client, key)
    page = client.get(f"/agent/reviews/{review['review_id']}")
    assert 'id="decide-form"' in page.text
    r = client.post(url, data={"action": "uphold", "csrf": csrf, "rationale": "Reasons stand.",
                               "r_reasons_confirmed": "1"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/agent/reviews/{review['review_id']}", params={"lang": "en"})
    assert 'data-state="upheld"' in page.text and "We have kept our decision." in page.text
    client.cookies.clear()
