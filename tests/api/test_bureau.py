"""The US credit-score disclosure from a decision's bureau fields; refused (422 naming the field) when the
bundle's profile says bureau_data = true and they are missing or wrong."""

from __future__ import annotations

from typing import Any

import pytest
from apihelpers import assert_problem, make_settings
from fastapi.testclient import TestClient
from us_lender import BUREAU, us_bundle

from api.main import create_app
from explain import demo_bundle


@pytest.fixture(scope="module")
def us_service(tmp_path_factory) -> Any:
    folder = tmp_path_factory.mktemp("us-service")
    bundle = us_bundle(demo_bundle().path, folder / "bundle")
    app = create_app(make_settings(f"sqlite:///{folder / 'store.sqlite'}", bundles=[str(bundle)]))
    with TestClient(app) as client:
        yield _Service(app, client)


class _Service:
    """The app, its client and an issuer key (as tests/api/conftest's Service, for this module's app)."""

    def __init__(self, app: Any, client: TestClient) -> None:
        self.client = client
        self.key = app.state.store.create_api_key("issuer", name="test-bureau")[0]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def _body(decision_body, **overrides):
    return decision_body(currency="USD", locales=["en", "zh_CN"], **overrides)


def test_the_credit_score_block_comes_from_the_bureau_fields(us_service, decision_body) -> None:
    r = us_service.client.post("/v1/decisions", json=_body(decision_body, bureau=BUREAU),
                               headers=us_service.auth("issuer"))
    assert r.status_code == 201, r.text
    notices = {n["locale"]: n for n in r.json()["notices"]}
    assert "Your credit score was 612 on November 20, 2026." in notices["en"]["text"]
    assert "- Too many recent credit inquiries" in notices["en"]["text"]
    assert "截至2026年11月20日，您的信用评分为612分。" in notices["zh_CN"]["text"]


@pytest.mark.parametrize(("bureau", "field"), [
    (None, "bureau"),
    ({**BUREAU, "key_factors": ["a", "b", "c", "d", "e"]}, "bureau.key_factors"),
    ({**BUREAU, "bureau_score": 900}, "bureau.bureau_score"),
])
def test_missing_or_wrong_bureau_fields_are_refused(us_service, decision_body, bureau, field) -> None:
    body = _body(decision_body)
    if bureau is not None:
        body["bureau"] = bureau
    r = us_service.client.post("/v1/decisions", json=body, headers=us_service.auth("issuer"))
    assert_problem(r, 422, field=field)
