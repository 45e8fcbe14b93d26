"""``explain keys create`` and the start-up of ``explain serve`` (the server itself: test_real_server.py)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from explain.commands import _cli_service
from explain.audit._store import AuditStore


@pytest.fixture(autouse=True)
def restored_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands set variables for the server's workers; put them back after each test."""
    for name in ("EXPLAIN_DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR", "OMP_NUM_THREADS"):
        monkeypatch.setenv(name, "")
    monkeypatch.delenv("EXPLAIN_GC_FREEZE", raising=False)  # set by serve for its workers: gone after the test


def _app() -> typer.Typer:
    app = typer.Typer()
    _cli_service.register(app)
    return app


def test_keys_create_prints_the_key_once_and_stores_its_hash(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    result = CliRunner().invoke(_app(), ["keys", "create", "--role", "auditor", "--name", "alice", "--database-url", url])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("exk_")
    store = AuditStore(url)
    caller = store.authenticate(key)
    assert caller is not None and caller.role == "auditor" and caller.name == "alice"
    with store.engine.connect() as conn:
        assert key not in str(conn.exec_driver_sql("SELECT * FROM api_keys").all())
    store.close()


def test_keys_create_refuses_an_unknown_role(tmp_path, monkeypatch) -> None:
    result = CliRunner().invoke(_app(), ["keys", "create", "--role", "root", "--database-url",
                                         f"sqlite:///{tmp_path / 'k.db'}"])
    assert result.exit_code == 2
    assert "'--role' must be one of 'issuer', 'agent', 'auditor', 'reviewer'. Got 'root'" in result.output


def test_serve_migrates_then_starts_uvicorn_with_the_factory(tmp_path, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(_cli_service, "_run", lambda *args: calls.append(args))
    url = f"sqlite:///{tmp_path / 's.db'}"
    result = CliRunner().invoke(_app(), ["serve", "--port", "8123", "--workers", "2", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert calls == [("127.0.0.1", 8123, 2, "info", "least-connections")]  # balanced hand-off by default
    assert AuditStore(url, migrate=False).schema_revision() == "0006_reviews"
    import os

    assert os.environ["PROMETHEUS_MULTIPROC_DIR"]  # several workers share their metrics through files


def test_serve_demo_prints_url_keys_and_a_curl_example(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(_cli_service, "_run", lambda *args: None)
    url = f"sqlite:///{tmp_path / 'd.db'}"
    result = CliRunner().invoke(_app(), ["serve-demo", "--port", "8124", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8124" in result.output and "curl" in result.output
    store = AuditStore(url)
    for role in ("issuer", "agent", "auditor"):
        line = next(x for x in result.output.splitlines() if x.strip().startswith(role))
        assert store.authenticate(line.split()[-1]).role == role
    store.close()


def test_serve_refuses_zero_workers() -> None:
    result = CliRunner().invoke(_app(), ["serve", "--workers", "0"])
    assert result.exit_code == 2 and "'--workers' must be at least 1" in result.output


def test_keys_list_shows_ids_names_roles_never_the_key(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    store = AuditStore(url)
    key, caller = store.create_api_key("issuer", name="lender-x")
    store.close()
    result = CliRunner().invoke(_app(), ["keys", "list", "--database-url", url])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith(caller.key_id))
    assert row.split()[1] == "issuer" and row.endswith("lender-x")
    assert key not in result.output and key.split("_")[2] not in result.output


def test_keys_revoke_refuses_the_key_and_is_listed(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    store = AuditStore(url)
    key, caller = store.create_api_key("agent", name="leaver")
    store.close()
    result = CliRunner().invoke(_app(), ["keys", "revoke", caller.key_id, "--database-url", url])
    assert result.exit_code == 0, result.output
    store = AuditStore(url)
    assert store.authenticate(key) is None
    [info] = store.list_api_keys()
    assert info.revoked and info.revoked_at and info.key_id == caller.key_id
    assert store.list_api_keys(include_revoked=False) == []
    store.close()
    active = CliRunner().invoke(_app(), ["keys", "list", "--database-url", url])
    assert caller.key_id not in active.stdout
    listed = CliRunner().invoke(_app(), ["keys", "list", "--all", "--format", "json", "--database-url", url])
    assert '"revoked": true' in listed.stdout


def test_keys_revoke_an_unknown_id_exits_2(tmp_path) -> None:
    result = CliRunner().invoke(_app(), ["keys", "revoke", "nosuchkey", "--database-url", f"sqlite:///{tmp_path / 'k.db'}"])
    assert result.exit_code == 2 and "'nosuchkey' is not known" in result.output


def test_serve_refuses_an_unknown_balance_naming_the_choices(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(_cli_service, "_run", lambda *args: pytest.fail("must not start"))
    result = CliRunner().invoke(_app(), ["serve", "--workers", "2", "--balance", "random",
                                         "--database-url", f"sqlite:///{tmp_path / 'b.db'}"])
    assert result.exit_code == 2
    assert ("'--balance' must be one of 'least-connections', 'reuseport', 'uvicorn'. Got 'random' instead."
            in result.output)
