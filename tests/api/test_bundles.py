"""GET /v1/bundles and /v1/bundles/{name}."""

from __future__ import annotations

from apihelpers import assert_problem

from explain import demo_bundle


def test_list_bundles(service) -> None:
    r = service.client.get("/v1/bundles", headers=service.auth("agent"))
    assert r.status_code == 200, r.text
    (bundle,) = r.json()["bundles"]
    demo = demo_bundle()
    assert bundle["name"] == demo.name and bundle["sha256"] == demo.sha256
    assert bundle["background_sha256"] == demo.background_sha256
    assert bundle["catalog"]["sha256"] == demo.catalog.sha256
    assert bundle["method"] and bundle["groups"]
    assert {g["code"] for g in bundle["groups"]} == set(demo.catalog.groups)
    assert any(g["protected"] for g in bundle["groups"])


def test_one_bundle(service) -> None:
    r = service.client.get(f"/v1/bundles/{demo_bundle().name}", headers=service.auth("issuer"))
    assert r.status_code == 200 and r.json()["version"] == str(demo_bundle().version)


def test_unknown_bundle_is_404(service) -> None:
    body = assert_problem(service.client.get("/v1/bundles/nope", headers=service.auth("issuer")), 404)
    assert "'nope'" in body["detail"]
