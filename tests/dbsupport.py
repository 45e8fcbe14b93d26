"""Databases for the store and API tests: a SQLite file, or a fresh PostgreSQL database made for this run.

Loaded by path from the conftest files that need it (``tests`` is not a package, and an unrelated ``tests``
package in site-packages would shadow it). Nothing here touches data it did not create: the PostgreSQL
database is ``explain_test_<random>``, made through the ``test`` database and dropped at the end; each test
gets its own schema inside it.

The server defaults to ``postgresql://postgres@127.0.0.1:5432/test`` (override with
``EXPLAIN_TEST_POSTGRES_URL``). When it does not answer the PostgreSQL cases are skipped, unless ``CI`` is
set, in which case they fail: CI must test both stores.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from explain.audit._store import normalize_url

ADMIN_URL = os.environ.get("EXPLAIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _admin_engine(url: str = ADMIN_URL) -> sa.Engine:
    return sa.create_engine(
        normalize_url(url), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool, connect_args={"connect_timeout": 3}
    )


def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers."""
    try:
        engine = _admin_engine()
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "not available"; we report it
        return f"PostgreSQL at {make_url(ADMIN_URL).render_as_string()} does not answer: {type(exc).__name__}: {exc}"
    return None


def require_postgres() -> None:
    """Skip (locally) or fail (when ``CI`` is set) if PostgreSQL does not answer."""
    why = postgres_unavailable()
    if why is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{why}; CI is set, so the PostgreSQL tests must run.", pytrace=False)
    pytest.skip(f"{why} (set CI=1 to make this a failure)")


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new database for this test session, dropped (with only its own connections) at the end."""
    name = f"explain_test_{secrets.token_hex(6)}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalize_url(ADMIN_URL)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_schema(database_url: str) -> str:
    """A fresh schema in ``database_url`` and a URL whose connections use it (via ``search_path``)."""
    schema = f"t_{secrets.token_hex(6)}"
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


def sqlite_url(path: os.PathLike[str] | str) -> str:
    return f"sqlite:///{path}"
