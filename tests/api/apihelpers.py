"""Assertions shared by the service tests (imported by name: ``tests/api`` is on ``sys.path``)."""

from __future__ import annotations

from typing import Any

from api.settings import Settings
from explain.audit._store import ROLES


_LOG_KEY: list[str] = []


def test_log_key_file() -> str:
    """One signing key for the test session's logs, in a temporary folder (never the repository's var/)."""
    if not _LOG_KEY:
        import tempfile
        from pathlib import Path

        from explain.audit._checkpoint import generate_key, write_key

        path = Path(tempfile.mkdtemp(prefix="explain-log-key-")) / "log.key"
        write_key(generate_key("test.example/explain-log"), path)
        _LOG_KEY.append(str(path))
    return _LOG_KEY[0]


test_log_key_file.__test__ = False  # a helper, not a test


def make_settings(url: str, **overrides: Any) -> Settings:
    """Settings for a test app: this database, the demo bundle, no key cache (so revocation is immediate), the
    session's log key, a quick sequencer, and no failed-authentication throttle (the shared apps see many
    deliberate 401s; test_throttling.py turns it on)."""
    return Settings(**{"database_url": url, "bundles": ["demo"], "auth_cache_seconds": 0, "auth_throttle": False,
                       "log_key_file": test_log_key_file(), "log_interval_seconds": 0.05, **overrides})


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


class Service:
    """A running app (lifespan entered), its client and one key per role."""

    def __init__(self, app: Any, client: Any) -> None:
        self.app = app
        self.client = client
        self.store = app.state.store
        self.keys = {role: self.store.create_api_key(role, name=f"test-{role}")[0] for role in ROLES}

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}
