"""Health, readiness, metrics, OpenAPI, and the error shape of everything that is not a route's own error."""

from __future__ import annotations

from apihelpers import assert_problem, make_settings
from fastapi.testclient import TestClient

from api.main import create_app


def test_healthz(service) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}


def test_readyz(service) -> None:
    r = service.client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "database": True, "bundles": ["german-credit-demo"],
                        "catalogs": ["zh_CN", "en", "zh_HK", "zh_TW"]}


def test_readyz_when_the_database_is_gone(tmp_path) -> None:
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'x.db'}"))
    with TestClient(app) as client:
        app.state.store.engine.dispose()
        (tmp_path / "x.db").unlink()
        (tmp_path / "x.db").mkdir()  # a path that can no longer be opened as a database
        body = assert_problem(client.get("/readyz"), 503)
        assert body["database"] is False


def test_metrics(fresh_service, decision_body) -> None:
    client = fresh_service.client
    client.post("/v1/decisions", json=decision_body(locales=["zh_CN"], channels=["short"]), headers=fresh_service.auth("issuer"))
    client.get("/v1/decisions/missing", headers=fresh_service.auth("agent"))
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'explain_http_request_duration_seconds_bucket{le="0.05",method="POST",route="/v1/decisions",status="201"}' in text
    assert 'explain_notices_total{channel="short",kind="limit_decrease",locale="zh_CN"} 1.0' in text
    assert 'explain_http_errors_total{route="/v1/decisions/{decision_id}",status="404"} 1.0' in text


def test_openapi_documents_every_schema_with_an_example(service) -> None:
    schema = service.client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    missing = [name for name, c in components.items() if not (c.get("examples") or c.get("example"))]
    assert missing == []
    assert {"/v1/decisions", "/v1/explanations", "/v1/audit/verify", "/v1/audit/export", "/healthz", "/readyz",
            "/metrics", "/v1/decisions/{decision_id}/replay", "/v1/accounts/{account_ref}/decisions",
            "/v1/bundles", "/v1/bundles/{name}", "/v1/decisions/{decision_id}"} <= schema["paths"].keys()
    unprocessable = schema["paths"]["/v1/decisions"]["post"]["responses"]["422"]["content"]
    assert unprocessable == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
    assert "HTTPBearer" in schema["components"]["securitySchemes"]


def test_docs(service) -> None:
    r = service.client.get("/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()


def test_unknown_route_is_a_404_problem(service) -> None:
    assert_problem(service.client.get("/v2/nothing"), 404)


def test_wrong_method_is_a_405_problem(service) -> None:
    assert_problem(service.client.delete("/v1/audit/verify", headers=service.auth("auditor")), 405)


def test_an_unexpected_failure_leaks_nothing(tmp_path, monkeypatch, accounts) -> None:
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'x.db'}"))
    with TestClient(app, raise_server_exceptions=False) as client:
        key, _ = app.state.store.create_api_key("agent")

        def boom(*args, **kwargs):
            raise RuntimeError("secret internals at /srv/explain/audit/_store.py line 42")

        monkeypatch.setattr("api.routes.explanations.analyse", boom)
        r = client.post("/v1/explanations", headers={"Authorization": f"Bearer {key}"},
                        json={"bundle": "german-credit-demo", "features": accounts[0], "decision": "limit_decrease"})
        body = assert_problem(r, 500)
        assert "secret" not in r.text and "RuntimeError" not in r.text and "_store.py" not in r.text
        assert body["title"] == "Internal server error"


def test_routes_take_the_apps_settings_without_dependency_overrides(tmp_path) -> None:
    """With any ``dependency_overrides`` entry FastAPI rebuilds every sub-dependency of a route on every request
    (about 1 ms of CPU per decision), so the app sets none; and no route asks ``get_settings`` (the process
    environment) where it means the settings the app was built with (``SettingsDep``)."""
    from fastapi.routing import APIRoute

    from api.settings import get_settings

    app = create_app(make_settings(f"sqlite:///{tmp_path / 'x.db'}"))
    assert app.dependency_overrides == {}

    def calls(dependant) -> set:  # noqa: ANN001
        return {dependant.call} | {c for d in dependant.dependencies for c in calls(d)}

    asked = [r.path for r in app.routes if isinstance(r, APIRoute) and get_settings in calls(r.dependant)]
    assert asked == []
