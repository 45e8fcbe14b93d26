"""``GET /v1/decisions/{id}/notice.pdf``: the issued letter printed, read like the decision itself (agents and
auditors, scoped keys, every read on the log), the same bytes as printing the stored record again.

One SQLite service for the module (the route's database work is the decision GET's, tested on both stores);
one letter rendered by the route and one by the test.
"""

from __future__ import annotations

import io

import pytest
from apihelpers import Service, assert_problem, make_settings
from fastapi.testclient import TestClient

pypdf = pytest.importorskip("pypdf")
pytest.importorskip("weasyprint")

from api.main import create_app  # noqa: E402
from explain import demo_bundle  # noqa: E402
from explain.printing import record_letter, render_pdf  # noqa: E402

ADDRESS = ["Jane Doe", "12 Elm Street", "Springfield, IL 62701"]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('pdf') / 'explain.db'}"
    with TestClient(create_app(make_settings(url, warm_up=False))) as client:
        yield Service(client.app, client)


@pytest.fixture(scope="module")
def issued(service, accounts):
    body = {"account_ref": "pdf-0001", "bundle": demo_bundle().name, "features": accounts[0],
            "decision": "limit_decrease", "old_limit": 20000, "new_limit": 8000, "notice_date": "2026-11-29",
            "locales": ["en", "zh_CN"], "mailing_address": ADDRESS}
    response = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer"))
    assert response.status_code == 201, response.text
    return response.json()["decision_id"]


@pytest.fixture(scope="module")
def served(service, issued):
    response = service.client.get(f"/v1/decisions/{issued}/notice.pdf", params={"paper": "a4"},
                                   headers=service.auth("agent"))
    return response


def test_the_letter_is_served_as_a_pdf_with_the_address_in_the_window(service, issued, served):
    assert served.status_code == 200, served.text
    assert served.headers["content-type"] == "application/pdf"
    assert served.content.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(served.content))
    assert float(reader.pages[0].mediabox.width) == pytest.approx(595.28, abs=0.01)  # a4 asked for
    text = reader.pages[0].extract_text()
    assert "\n".join(ADDRESS) in text and "Page 1 of" in text  # the first locale issued: en
    record = service.store.get(issued)
    assert record.inputs["mailing_address"] == ADDRESS and record.inputs["locales"] == ["en", "zh_CN"]


def test_printing_the_stored_record_again_gives_the_bytes_served(service, issued, served):
    record = service.store.get(issued)
    again = render_pdf(record_letter(record, profile=demo_bundle().profile, paper="a4"))
    assert again == served.content


def test_every_read_is_logged(service, issued, served):
    reads = [e for e in service.store.access_log() if e.decision_id == issued]
    assert reads and reads[-1].via == "api" and reads[-1].role == "agent"


def test_unknown_decisions_and_bad_parameters_are_problems(service, issued):
    get = service.client.get
    assert_problem(get("/v1/decisions/no-such-id/notice.pdf", headers=service.auth("agent")), 404)
    assert_problem(get(f"/v1/decisions/{issued}/notice.pdf", params={"paper": "a5"}, headers=service.auth("agent")),
                   422, field="paper")
    assert_problem(get(f"/v1/decisions/{issued}/notice.pdf", params={"locale": "fr"}, headers=service.auth("agent")),
                   422, field="locale")
    assert_problem(get(f"/v1/decisions/{issued}/notice.pdf", headers=service.auth("issuer")), 403)
    assert_problem(get(f"/v1/decisions/{issued}/notice.pdf"), 401)


def test_a_locale_the_decision_was_not_issued_in_is_named(service, accounts):
    body = {"account_ref": "pdf-0002", "bundle": demo_bundle().name, "features": accounts[1],
            "decision": "limit_decrease", "old_limit": 20000, "new_limit": 8000, "locales": ["en"]}
    issued = service.client.post("/v1/decisions", json=body, headers=service.auth("issuer")).json()["decision_id"]
    body = assert_problem(service.client.get(f"/v1/decisions/{issued}/notice.pdf", params={"locale": "zh-CN"},
                                             headers=service.auth("auditor")), 422, field="locale")
    assert "issued in (en)" in body["detail"]


@pytest.mark.parametrize("address", [[], ["x"] * 7, ["Jane", "x" * 51], ["Jane\tDoe"], "Jane Doe"])
def test_a_bad_mailing_address_is_refused_at_issue(service, accounts, address):
    body = {"account_ref": "pdf-bad", "bundle": demo_bundle().name, "features": accounts[0],
            "decision": "limit_decrease", "old_limit": 20000, "new_limit": 8000, "mailing_address": address}
    problem = assert_problem(service.client.post("/v1/decisions", json=body, headers=service.auth("issuer")), 422)
    assert any(e["field"].startswith("mailing_address") for e in problem["errors"]), problem


def test_replay_compares_the_printed_letters_and_hashes_the_one_served(service, issued, served):
    import hashlib

    response = service.client.post(f"/v1/decisions/{issued}/replay", params={"pdf": "true"},
                                   headers=service.auth("auditor"))
    assert response.status_code == 200, response.text
    notices = response.json()["notices"]
    assert notices["en"]["pdf_identical"] is True and notices["zh_CN"]["pdf_identical"] is True
    assert notices["en"]["pdf_sha256"] == hashlib.sha256(served.content).hexdigest()
    plain = service.client.post(f"/v1/decisions/{issued}/replay", headers=service.auth("auditor")).json()
    assert "pdf_sha256" not in plain["notices"]["en"]  # printing only when asked: it costs seconds


def test_without_weasyprint_the_service_says_so_with_a_503(service, issued, monkeypatch):
    from explain.printing import PrintingUnavailableError

    def missing():
        raise PrintingUnavailableError("No module named 'weasyprint'")

    monkeypatch.setattr("explain.printing._render._weasyprint", missing)
    body = assert_problem(service.client.get(f"/v1/decisions/{issued}/notice.pdf", headers=service.auth("agent")), 503)
    assert body["type"].endswith("printing-unavailable") and "'pdf' extra" in body["detail"]
