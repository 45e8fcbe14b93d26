"""Optional agent scopes (migration 0005_agent_scopes): an agent key limited to the decisions of given issuer keys
or of a tenant's keys, on the API and the page (both stores); lookups of unknown accounts are logged too."""

from __future__ import annotations

import re

import pytest
from apihelpers import assert_problem
from typer.testing import CliRunner


@pytest.fixture
def tenants(fresh_service, decision_body):  # noqa: ANN001, ANN201
    """Three issuers (brand-a, brand-b, no tenant) each post one decision for the same account."""
    store = fresh_service.store
    issuers = {"a": store.create_api_key("issuer", name="issuer-a", tenant="brand-a"),
               "b": store.create_api_key("issuer", name="issuer-b", tenant="brand-b"),
               "none": store.create_api_key("issuer", name="issuer-none")}
    ids = {}
    for label, (key, _caller) in issuers.items():
        r = fresh_service.client.post("/v1/decisions", json=decision_body(account_ref="shared-acc"),
                                      headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 201, r.text
        ids[label] = r.json()["decision_id"]
    return {"service": fresh_service, "issuers": {k: c for k, (_key, c) in issuers.items()}, "ids": ids,
            "decision_body": decision_body}


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _listed(service, key: str, account: str = "shared-acc") -> set[str]:
    r = service.client.get(f"/v1/accounts/{account}/decisions", headers=_bearer(key))
    assert r.status_code == 200, r.text
    return {d["decision_id"] for d in r.json()["decisions"]}


def test_an_agent_scoped_to_an_issuer_reads_only_its_decisions(tenants) -> None:
    service, ids = tenants["service"], tenants["ids"]
    key, caller = service.store.create_api_key("agent", name="scoped-a",
                                               scope_issuers=[tenants["issuers"]["a"].key_id])
    assert caller.readable_issuers == {tenants["issuers"]["a"].key_id}
    assert _listed(service, key) == {ids["a"]}
    assert service.client.get(f"/v1/decisions/{ids['a']}", headers=_bearer(key)).status_code == 200
    for other in ("b", "none"):  # out of scope reads exactly like a decision that does not exist
        body = assert_problem(service.client.get(f"/v1/decisions/{ids[other]}", headers=_bearer(key)), 404)
        assert body["title"] == "Decision not found"
    unscoped = service.keys["agent"]
    assert _listed(service, unscoped) == set(ids.values())


def test_a_tenant_scope_follows_the_tenants_keys_made_later(tenants) -> None:
    service, ids = tenants["service"], tenants["ids"]
    key, _ = service.store.create_api_key("agent", name="scoped-b", scope_tenant="brand-b")
    assert _listed(service, key) == {ids["b"]}
    late_key, _ = service.store.create_api_key("issuer", name="issuer-b2", tenant="brand-b")
    r = service.client.post("/v1/decisions", json=tenants["decision_body"](account_ref="shared-acc"),
                            headers=_bearer(late_key))
    assert _listed(service, key) == {ids["b"], r.json()["decision_id"]}


def test_the_page_honours_the_scope(tenants) -> None:
    service, ids = tenants["service"], tenants["ids"]
    key, _ = service.store.create_api_key("agent", name="page-a", scope_issuers=[tenants["issuers"]["a"].key_id])
    client = service.client
    client.cookies.clear()
    form = client.get("/agent/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    assert client.post("/agent/sign-in", data={"csrf": csrf, "key": key}, follow_redirects=False).status_code == 303
    page = client.get("/agent/accounts/shared-acc")
    assert page.status_code == 200 and ids["a"] in page.text
    assert ids["b"] not in page.text and ids["none"] not in page.text
    assert client.get(f"/agent/decisions/{ids['b']}").status_code == 404
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/agent/lookup", data={"csrf": csrf, "q": ids["b"]}, follow_redirects=False)
    assert r.headers["location"] != f"/agent/decisions/{ids['b']}"
    client.cookies.clear()


def test_only_agent_keys_may_be_scoped(fresh_service) -> None:
    for role in ("issuer", "auditor"):
        with pytest.raises(ValueError, match="Only an 'agent' key may be scoped"):
            fresh_service.store.create_api_key(role, scope_tenant="brand-a")


def test_unknown_account_lookups_are_logged_like_reads(fresh_service) -> None:
    service = fresh_service
    assert _listed(service, service.keys["agent"], account="nobody-here") == set()
    client = service.client
    client.cookies.clear()
    form = client.get("/agent/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    client.post("/agent/sign-in", data={"csrf": csrf, "key": service.keys["agent"]}, follow_redirects=False)
    assert client.get("/agent/accounts/still-nobody").status_code == 404
    client.cookies.clear()
    log = [(e.key_name, e.account_ref, e.decision_id, e.via) for e in service.store.access_log()]
    assert ("test-agent", "nobody-here", "", "api") in log and ("test-agent", "still-nobody", "", "page") in log


def test_keys_create_takes_tenant_and_scope_options(tmp_path, monkeypatch) -> None:
    import typer

    from explain.audit._store import AuditStore
    from explain.commands import _cli_service

    monkeypatch.setenv("EXPLAIN_DATABASE_URL", "")
    app = typer.Typer()
    _cli_service.register(app)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    made = CliRunner().invoke(app, ["keys", "create", "--role", "issuer", "--tenant", "brand-a", "--database-url", url])
    assert made.exit_code == 0, made.output
    refused = CliRunner().invoke(app, ["keys", "create", "--role", "issuer", "--scope-tenant", "brand-a",
                                       "--database-url", url])
    assert refused.exit_code == 2 and "Only an agent key" in refused.output
    scoped = CliRunner().invoke(app, ["keys", "create", "--role", "agent", "--scope-tenant", "brand-a",
                                      "--database-url", url])
    key = scoped.stdout.strip().splitlines()[-1]
    store = AuditStore(url)
    issuer_id = next(k.key_id for k in store.list_api_keys() if k.role == "issuer")
    assert store.authenticate(key).readable_issuers == {issuer_id}
    store.close()
    listed = CliRunner().invoke(app, ["keys", "list", "--database-url", url])
    assert '[tenant brand-a]' in listed.stdout and '[scope {"tenant": "brand-a"}]' in listed.stdout


def test_0005_adds_the_scope_columns_and_downgrades_cleanly(tmp_path) -> None:
    from pathlib import Path

    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    import explain.audit._store as store_module
    from explain.audit._store import AuditStore

    store = AuditStore(f"sqlite:///{tmp_path / 'scopes.db'}")
    key, _ = store.create_api_key("agent", name="before-downgrade")
    columns = {c["name"] for c in sa.inspect(store.engine).get_columns("api_keys")}
    assert {"tenant", "scope"} <= columns
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(store_module.__file__).resolve().parents[1] / "migrations"))
    with store._writing() as conn, conn.begin():  # noqa: SLF001
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004_merkle_log")
    store.engine.dispose()
    assert not {"tenant", "scope"} & {c["name"] for c in sa.inspect(store.engine).get_columns("api_keys")}
    store.migrate()
    assert store.authenticate(key).readable_issuers is None  # keys made before are unlimited
    store.close()
