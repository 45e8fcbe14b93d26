"""Assertions shared by the service tests (imported by name: ``tests/api`` is on ``sys.path``)."""

from __future__ import annotations

from typing import Any

from api.settings import Settings


def make_settings(url: str, **overrides: Any) -> Settings:
    """Settings for a test app: this database, the demo bundle, no key cache (so revocation is immediate), and
    no failed-authentication throttle (the shared apps see many deliberate 401s; test_throttling.py turns it on)."""
    return Settings(**{"database_url": url, "bundles": ["demo"], "auth_cache_seconds": 0, "auth_throttle": False,
                       **overrides})


def assert_problem(response: Any, status: int, *, field: str | None = None) -> dict[str, Any]:
    """The response is RFC 9457 problem details with ``status`` (and, if given, an error naming ``field``)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    assert "Traceback" not in response.text
    if field is not None:
        fields = [e["field"] for e in body.get("errors", [])]
        assert field in fields, fields
    return body
