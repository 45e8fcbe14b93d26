"""Human review in a real browser (Debian's Chromium via Playwright, like test_agent_page_browser.py).

An issuer posts a decision and the customer's request for review; an agent triages it from the queue; a
reviewer overturns it with a written rationale (above the profile's threshold, so it waits); a second
reviewer confirms; the outcome notice is on the page in both languages; the audit log verifies against the
service's checkpoint and the outcome notices replay byte for byte. Screenshots at laptop and phone width go
to ``build/screenshots/``.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import httpx
import pytest
from liveserver import running_server
from test_agent_page_browser import LAPTOP, PHONE, SCREENSHOTS, _sign_in, browser  # noqa: F401 - the fixture
from typer.testing import CliRunner

from explain import demo_bundle
from explain.audit._log import AuditLog
from explain.audit._store import AuditStore
from explain.cli import app as cli


def _act(page, button: str) -> None:  # noqa: ANN001
    with page.expect_navigation():
        page.click(button)


@pytest.mark.slow
def test_agent_triages_reviewer_overturns_second_reviewer_confirms(browser, tmp_path, accounts) -> None:  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp_path / 'explain.db'}"
    with running_server(url, log_path=tmp_path / "server.log") as base:
        store = AuditStore(url, migrate=False)
        keys = {name: store.create_api_key(role, name=f"page-{name}")[0] for name, role in
                (("issuer", "issuer"), ("agent", "agent"), ("auditor", "auditor"), ("reviewer-a", "reviewer"),
                 ("reviewer-b", "reviewer"))}
        auth = {name: {"Authorization": f"Bearer {key}"} for name, key in keys.items()}
        today = dt.datetime.now(dt.UTC).date().isoformat()
        created = httpx.post(f"{base}/v1/decisions", headers=auth["issuer"], timeout=30, json={
            "account_ref": "6222-0001-REVIEW", "bundle": demo_bundle().name, "features": accounts[0],
            "decision": "limit_decrease", "old_limit": 20000, "new_limit": 8000, "currency": "CNY",
            "notice_date": today, "locales": ["zh_CN", "en"], "channels": ["letter", "short"]})
        assert created.status_code == 201, created.text
        decision = created.json()
        asked = httpx.post(f"{base}/v1/decisions/{decision['decision_id']}/reviews", headers=auth["issuer"],
                           timeout=30, json={"statement": "我的收入上个月已提高，请重新审核。", "channel": "phone",
                                             "facts": {"duration_in_month": 12}})
        assert asked.status_code == 201, asked.text
        review_id = asked.json()["review_id"]
        review_url = f"{base}/agent/reviews/{review_id}"

        # The agent finds it in the queue (held, due in 15 days) and triages it.
        context = browser.new_context(viewport=LAPTOP, locale="zh-CN")
        page = context.new_page()
        _sign_in(page, base, keys["agent"])
        page.click("#nav-reviews")
        page.wait_for_url(f"{base}/agent/reviews")
        row = page.locator(f"tr[data-review='{review_id}']")
        assert row.count() == 1 and "暂缓执行" in row.inner_text() and "已申请" in row.inner_text()
        page.screenshot(path=str(SCREENSHOTS / "review-queue-zh_CN-laptop.png"), full_page=True)
        with page.expect_navigation():
            row.locator("a").click()
        assert page.locator("#held").count() == 1 and page.locator("#decide-form").count() == 0  # agents do not decide
        page.fill("#note", "已收到客户的收入证明。")
        _act(page, "#triage")
        assert page.locator("#state").get_attribute("data-state") == "in_review"
        context.close()

        # Reviewer A overturns with a rationale: 12,000 more than decided is above 5,000, so it waits.
        context = browser.new_context(viewport=LAPTOP, locale="en-US")
        page = context.new_page()
        _sign_in(page, base, keys["reviewer-a"])
        page.goto(f"{review_url}?lang=en")
        page.check("#r_facts_corrected")
        page.fill("#new_limit", "20000")
        page.fill("#rationale", "Three payslips confirm the higher income; the decrease no longer applies.")
        _act(page, "#overturn")
        assert page.locator("#state").get_attribute("data-state") == "in_review"
        assert "awaiting a second reviewer" in page.locator("#state").inner_text()
        # the same reviewer cannot confirm its own overturn (four eyes)
        page.fill("#rationale", "Agreeing with myself.")
        response = None
        with page.expect_navigation() as nav:
            page.click("#confirm")
        response = nav.value
        assert response.status == 403 and "Four eyes" in page.locator("#error").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "review-awaiting-second-en-laptop.png"), full_page=True)
        context.close()

        # Reviewer B confirms; the outcome notice is produced in both languages.
        context = browser.new_context(viewport=LAPTOP, locale="zh-CN")
        page = context.new_page()
        _sign_in(page, base, keys["reviewer-b"])
        page.goto(review_url)
        page.fill("#rationale", "同意改判。")
        _act(page, "#confirm")
        assert page.locator("#state").get_attribute("data-state") == "overturned"
        notices = page.locator("#outcome-notices").inner_text()
        assert "我行已更改原决定。您的信用额度现为¥20,000.00。" in notices
        assert "We have changed our decision. Your credit limit is now CN¥20,000.00." in notices
        assert page.locator("#held").count() == 0  # closed: no longer held
        page.screenshot(path=str(SCREENSHOTS / "review-overturned-zh_CN-laptop.png"), full_page=True)
        page.set_viewport_size(PHONE)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
        page.screenshot(path=str(SCREENSHOTS / "review-overturned-zh_CN-phone.png"), full_page=True)
        page.goto(f"{base}/agent/reviews?state=overturned")
        assert page.locator(f"tr[data-review='{review_id}']").count() == 1
        page.screenshot(path=str(SCREENSHOTS / "review-queue-zh_CN-phone.png"), full_page=True)
        context.close()

        # The audit: every event on the log, verified against the service's own checkpoint; the outcome replays.
        events = [e["action"] for e in httpx.get(f"{base}/v1/reviews/{review_id}", headers=auth["auditor"],
                                                 timeout=30).json()["events"]]
        assert events == ["request", "triage", "overturn", "confirm"]
        log = AuditLog(store)
        deadline = time.monotonic() + 30
        while log.pending():
            assert time.monotonic() < deadline, "the sequencer did not integrate in time"
            time.sleep(0.05)
        checkpoint = tmp_path / "checkpoint.txt"
        checkpoint.write_text(httpx.get(f"{base}/v1/log/checkpoint", timeout=30).text, encoding="utf-8")
        vkey = httpx.get(f"{base}/v1/log/public-key", timeout=30).text.strip()
        result = CliRunner().invoke(cli, ["audit", "verify", "--checkpoint", str(checkpoint), "--database-url", url,
                                          "--public-key", vkey])
        report = json.loads(result.stdout)
        assert result.exit_code == 0 and report["log"]["ok"], report
        replay = httpx.get(f"{base}/v1/reviews/{review_id}/replay", headers=auth["auditor"], timeout=30).json()
        assert replay["identical"] is True
        store.close()
