"""The agent page in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser).

One signed-in walk: an agent signs in, looks up a decision created through the API, reads the reasons and the
chart in Chinese, switches to English, and the reasons on the page are the API's own, word for word, in both
languages. Screenshots (laptop and phone widths, both languages, and the compliance report) are written to
``build/screenshots/`` (see the README) so anyone can look at what an agent and an auditor see.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest
from liveserver import REPO, running_server

from explain import demo_bundle
from explain.audit._store import AuditStore

SCREENSHOTS = REPO / "build" / "screenshots"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    path = _chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; .ci/run installs it (apt package 'chromium').", pytrace=False)
        pytest.skip("Chromium is not installed (apt package 'chromium'); CI installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # The flags keep a root, offline, screenless machine from stalling on sandboxing, GPU and network calls.
        chromium = pw.chromium.launch(executable_path=path, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


def _sign_in(page, base: str, key: str):  # noqa: ANN001, ANN202
    page.goto(f"{base}/agent")
    assert page.url == f"{base}/agent/sign-in"  # no session: sent to sign in
    page.fill("#key", key)
    with page.expect_navigation() as nav:
        page.click("button[type=submit]")
    return nav.value


def _page_reasons(page) -> list[dict[str, str]]:  # noqa: ANN001
    return [{"code": li.get_attribute("data-code"), "label": li.locator(".reason-label").inner_text().strip(),
             "text": li.locator(".reason-text").inner_text().strip()}
            for li in page.locator("#reasons li[data-code]").all()]


@pytest.mark.slow
def test_an_agent_signs_in_looks_up_a_decision_and_reads_it_in_both_languages(browser, tmp_path, accounts) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp_path / 'explain.db'}"
    with running_server(url, log_path=tmp_path / "server.log") as base:
        store = AuditStore(url, migrate=False)
        keys = {role: store.create_api_key(role, name=f"page-{role}")[0] for role in ("issuer", "agent", "auditor")}
        created = httpx.post(f"{base}/v1/decisions", headers={"Authorization": f"Bearer {keys['issuer']}"}, json={
            "account_ref": "6222-0001-PAGE", "bundle": demo_bundle().name, "features": accounts[0],
            "decision": "limit_decrease", "old_limit": 20000, "new_limit": 8000, "currency": "CNY",
            "effective_date": "2026-12-31", "notice_date": "2026-11-29", "policy_reasons": ["overdue_repayment"],
            "locales": ["zh_CN", "en"], "channels": ["letter", "short"]}, timeout=30)
        assert created.status_code == 201, created.text
        decision = created.json()
        api = {loc: httpx.get(f"{base}/v1/decisions/{decision['decision_id']}", params={"locale": loc}, timeout=30,
                              headers={"Authorization": f"Bearer {keys['agent']}"}).json()["reader"]["reasons"]
               for loc in ("zh_CN", "en")}

        context = browser.new_context(viewport=LAPTOP, locale="zh-CN")
        page = context.new_page()
        _sign_in(page, base, keys["agent"])
        assert page.url == f"{base}/agent"
        cookie = next(c for c in context.cookies() if c["name"] == "explain_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/agent"
        assert keys["agent"] not in page.url and keys["agent"] not in page.content()

        page.fill("#q", decision["decision_id"])
        with page.expect_navigation():
            page.click("form[action='/agent/lookup'] button[type=submit]")
        assert page.url == f"{base}/agent/decisions/{decision['decision_id']}"
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        shown = _page_reasons(page)
        assert shown == [{"code": r["code"], "label": r["label"], "text": r["text"]} for r in api["zh_CN"]]
        # the chart: one bar per grouped contribution, protected groups hatched and marked excluded
        chart = page.locator("svg.waterfall.wide")
        assert chart.is_visible()
        assert chart.locator("g.step").count() == len(decision["group_contributions"])
        protected = {c for c in decision["group_contributions"] if c in ("personal_status", "age", "nationality",
                                                                                   "telephone_listing")}
        assert chart.locator("g.step.excluded").count() == len(protected) > 0
        assert "受保护：已排除" in chart.text_content()
        # the exact notices the customer received, both channels, both languages
        for notice in decision["notices"]:
            assert notice["short"] in page.locator(".notices").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "agent-decision-zh_CN-laptop.png"), full_page=True)
        page.set_viewport_size(PHONE)
        # on a phone the compact layout of the same chart is shown instead
        assert page.locator("svg.waterfall.compact").is_visible() and not chart.is_visible()
        assert page.locator("svg.waterfall.compact g.step").count() == len(decision["group_contributions"])
        page.screenshot(path=str(SCREENSHOTS / "agent-decision-zh_CN-phone.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll

        with page.expect_navigation():
            page.click("#switch-en")
        assert page.locator("html").get_attribute("lang") == "en"
        assert _page_reasons(page) == [{"code": r["code"], "label": r["label"], "text": r["text"]} for r in api["en"]]
        assert "protected: excluded" in page.locator("svg.waterfall.compact").text_content()
        page.screenshot(path=str(SCREENSHOTS / "agent-decision-en-phone.png"), full_page=True)
        page.set_viewport_size(LAPTOP)
        page.screenshot(path=str(SCREENSHOTS / "agent-decision-en-laptop.png"), full_page=True)
        # the choice sticks (a cookie) and the account view lists the decision
        page.goto(f"{base}/agent/accounts/6222-0001-PAGE")
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator(f"a[href='/agent/decisions/{decision['decision_id']}']").count() == 1
        page.screenshot(path=str(SCREENSHOTS / "agent-account-en-laptop.png"), full_page=True)
        context.close()

        # every read was logged: who looked at which account, how
        reads = store.access_log(account_ref="6222-0001-PAGE")
        assert {(r.key_name, r.role, r.via) for r in reads} >= {("page-agent", "agent", "page"), ("page-agent", "agent", "api")}

        # an issuer key cannot use the page
        context = browser.new_context(viewport=LAPTOP)
        page = context.new_page()
        response = _sign_in(page, base, keys["issuer"])
        assert response.status == 403
        assert "explain_session" not in {c["name"] for c in context.cookies()}
        page.goto(f"{base}/agent/decisions/{decision['decision_id']}")
        assert page.url == f"{base}/agent/sign-in"
        context.close()

        # the compliance report as an auditor's browser shows it
        for locale in ("en", "zh_CN"):
            context = browser.new_context(viewport=LAPTOP, extra_http_headers={"Authorization": f"Bearer {keys['auditor']}"})
            page = context.new_page()
            response = page.goto(f"{base}/v1/audit/report?locale={locale}&sample=5")
            assert response.status == 200
            assert page.locator("svg.chart").count() >= 3
            page.screenshot(path=str(SCREENSHOTS / f"report-{locale}-laptop.png"), full_page=True)
            context.close()
        store.close()
