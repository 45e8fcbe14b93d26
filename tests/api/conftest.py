"""Fixtures for the service tests: one app per store (SQLite file, fresh PostgreSQL schema), keys per role.

PostgreSQL cases run in a database made for this session (``explain_test_<random>``, dropped at the end);
they are skipped when the server does not answer, unless ``CI`` is set (then they fail).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import warnings

import pytest

with warnings.catch_warnings():
    # Starlette 1.x deprecates its httpx-based TestClient in favour of `httpx2`, which is not a dependency
    # (yet); the client still works. Narrow: this one message, this one import.
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

from api.main import create_app
from apihelpers import Service, make_settings
from explain import demo_bundle

_spec = importlib.util.spec_from_file_location("explain_tests_dbsupport_api", Path(__file__).parents[1] / "dbsupport.py")
dbsupport = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dbsupport)

BACKENDS = ["sqlite", "postgresql"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: runs a real server (still part of `make test`, never skipped)")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    dbsupport.require_postgres()
    with dbsupport.postgres_database() as url:
        yield url


@pytest.fixture
def postgres_schema_url(postgres_database: str) -> str:
    """A fresh, empty schema in this session's PostgreSQL database."""
    return dbsupport.postgres_schema(postgres_database)


def new_database_url(backend: str, request: pytest.FixtureRequest, directory: Path) -> str:
    if backend == "sqlite":
        return dbsupport.sqlite_url(directory / "explain.db")
    return dbsupport.postgres_schema(request.getfixturevalue("postgres_database"))


@pytest.fixture(scope="session", params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The shared app for one store; tests use their own account refs so they do not see each other."""
    url = new_database_url(request.param, request, tmp_path_factory.mktemp(f"svc-{request.param}"))
    app = create_app(make_settings(url))
    with TestClient(app) as client:
        yield Service(app, client)


@pytest.fixture(params=BACKENDS)
def fresh_service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    """An app over an empty store, for tests that tamper with the database or count every record."""
    app = create_app(make_settings(new_database_url(request.param, request, tmp_path)))
    with TestClient(app) as client:
        yield Service(app, client)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}))


@pytest.fixture(scope="session")
def accounts() -> list[dict[str, Any]]:
    """Feature rows of the demo background that have at least one adverse model reason (so a decrease can
    be explained to the customer)."""
    bundle = demo_bundle()
    explainer = bundle.explainer()
    rows = []
    for i in range(40):
        frame = bundle.background.iloc[[i]]
        if explainer.reasons(frame, decision="limit_decrease")[0].reasons:
            rows.append(_plain(frame.iloc[0].to_dict()))
        if len(rows) == 6:
            break
    assert len(rows) >= 3
    return rows


@pytest.fixture
def decision_body(accounts: list[dict[str, Any]], request: pytest.FixtureRequest) -> Callable[..., dict[str, Any]]:
    """A valid ``POST /v1/decisions`` body for a new account; keyword arguments override fields."""
    counter = iter(range(10_000))
    bundle_name = demo_bundle().name  # once: client threads must not each load the model (skops parses headers
    # with ast, which CPython 3.11 cannot do from several threads at once: "AST constructor recursion depth")

    def make(**overrides: Any) -> dict[str, Any]:
        n = next(counter)
        body = {
            "account_ref": f"{request.node.name[:60]}-{n}",
            "bundle": bundle_name,
            "features": accounts[n % len(accounts)],
            "decision": "limit_decrease",
            "old_limit": 20000,
            "new_limit": 8000,
            "currency": "CNY",
            "effective_date": "2026-12-31",
            "notice_date": "2026-11-29",
            "policy_reasons": [],
            "locales": ["zh_CN", "en"],
            "channels": ["letter", "short"],
        }
        body.update(overrides)
        return body

    return make
