"""Service commands: ``explain serve``, ``explain serve-demo`` and ``explain keys create|list|revoke``.

The service itself lives in ``api/`` (FastAPI); this module only starts it, by import string, so the
domain package never imports the web framework. Settings come from ``EXPLAIN_*`` variables (see
``api/settings.py``); ``--database-url`` sets ``EXPLAIN_DATABASE_URL`` for the server's workers too.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys
import tempfile
from typing import Annotated

import typer

__all__ = ["register"]

_ROLES_HELP = ("issuer (posts decisions, asks for reviews for the customer), agent (reads them, what-if, triages reviews), "
               "auditor (reads, exports, verifies, replays) or reviewer (decides reviews)")

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL of the audit store (default: $EXPLAIN_DATABASE_URL, "
                                        "else the SQLite file under var/)."),
]


def _database_url(database_url: str | None) -> str:
    """The store to use; exported so the server's worker processes (``api.settings``) read the same one."""
    from explain.audit._store import configured_database_url

    if database_url:
        os.environ["EXPLAIN_DATABASE_URL"] = database_url
    return configured_database_url()


def _prepare_environment(workers: int) -> None:
    # One request explains one account: OpenMP fan-out inside each request only fights the other requests.
    if not os.environ.get("OMP_NUM_THREADS"):
        os.environ["OMP_NUM_THREADS"] = "1"
    # A worker lives long: its start-up heap is frozen out of the garbage collector (api.settings.gc_freeze).
    os.environ.setdefault("EXPLAIN_GC_FREEZE", "true")
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several workers: each writes its metrics to files here and /metrics adds them all up.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="explain-metrics-")


def _migrate(url: str) -> None:
    from explain.audit._store import AuditStore

    AuditStore(url).close()  # create or upgrade the schema once, before any worker starts


BALANCES = ("least-connections", "reuseport", "uvicorn")


def _run(host: str, port: int, workers: int, log_level: str, balance: str = "least-connections") -> None:
    import uvicorn

    from explain.commands import _reuseport

    # proxy_headers off: the app itself believes X-Forwarded-* only from EXPLAIN_FORWARDED_ALLOW_IPS (one place,
    # the same under any ASGI server); h11's request-head limit matches the app's 431 limit on header bytes.
    options = {"proxy_headers": False, "server_header": False, "h11_max_incomplete_event_size": _max_header_bytes()}
    if workers > 1 and balance == "least-connections" and hasattr(socket, "send_fds"):
        from explain.commands import _handoff

        _handoff.serve_handoff(host, port, workers, log_level, options)
        return
    if workers > 1 and balance in ("least-connections", "reuseport") and _reuseport.available():
        _reuseport.serve_reuseport(host, port, workers, log_level, options)
        return
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers, log_level=log_level,
                timeout_graceful_shutdown=10, **options)


def _max_header_bytes() -> int:
    from api.settings import Settings

    return Settings().max_header_bytes


ForwardedOption = Annotated[
    str | None,
    typer.Option("--forwarded-allow-ips", help="Comma-separated proxy addresses or networks ('*': any) whose "
                                               "X-Forwarded-For and X-Forwarded-Proto are believed (default: "
                                               "$EXPLAIN_FORWARDED_ALLOW_IPS, else 127.0.0.1)."),
]
PublicUrlOption = Annotated[
    str | None,
    typer.Option("--public-url", help="The URL users reach the service at (default: $EXPLAIN_PUBLIC_URL); "
                                      "https makes the page's cookies Secure even behind a TLS proxy."),
]


def _proxy_environment(forwarded_allow_ips: str | None, public_url: str | None) -> None:
    """Exported, like ``--database-url``, so every worker's settings read the same values."""
    if forwarded_allow_ips:
        os.environ["EXPLAIN_FORWARDED_ALLOW_IPS"] = forwarded_allow_ips
    if public_url:
        os.environ["EXPLAIN_PUBLIC_URL"] = public_url


def _check_workers(workers: int) -> None:
    if workers < 1:
        typer.echo(f"error: The '--workers' must be at least 1. Got {workers} instead.", err=True)
        raise typer.Exit(2)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (or the PORT variable).", envvar="PORT")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (all state is in the database).")] = 1,
    database_url: DatabaseOption = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    forwarded_allow_ips: ForwardedOption = None,
    public_url: PublicUrlOption = None,
    balance: Annotated[str, typer.Option(help="With several workers: 'least-connections' (this process accepts and "
                                              "hands each connection to the worker with the fewest open), "
                                              "'reuseport' (each worker its own SO_REUSEPORT socket, connections "
                                              "hashed by the kernel) or 'uvicorn' (one shared socket).")
                       ] = "least-connections",
) -> None:
    """Run the notices service (FastAPI under uvicorn); the schema is migrated first."""
    _check_workers(workers)
    _proxy_environment(forwarded_allow_ips, public_url)
    if balance not in BALANCES:
        choices = ", ".join(f"'{b}'" for b in BALANCES)
        typer.echo(f"error: The '--balance' must be one of {choices}. Got {balance!r} instead.", err=True)
        raise typer.Exit(2)
    url = _database_url(database_url)
    _prepare_environment(workers)
    _migrate(url)
    _run(host, port, workers, log_level, balance)


def serve_demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (or the PORT variable).", envvar="PORT")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    database_url: DatabaseOption = None,
) -> None:
    """Serve the demo bundle on the embedded defaults, with a fresh key per role printed once."""
    from explain.audit._store import AuditStore

    _check_workers(workers)
    url_db = _database_url(database_url)
    _prepare_environment(workers)
    store = AuditStore(url_db)
    keys = {role: store.create_api_key(role, name=f"demo-{role}")[0]
            for role in ("issuer", "agent", "auditor", "reviewer")}
    store.close()
    url = f"http://{host}:{port}"
    body = ('{"account_ref": "6222-0001", "bundle": "german-credit-demo", "decision": "limit_decrease", '
            '"old_limit": 20000, "new_limit": 8000, "features": ' + _demo_features() + "}")
    lines = [
        f"limit-explain service on {url}  (docs: {url}/docs, store: {_redacted(url_db)})",
        "",
        "API keys (shown once; only their hashes are stored):",
        *(f"  {role:<8} {key}" for role, key in keys.items()),
        "",
        "Authenticate with 'Authorization: Bearer <key>'. Try:",
        f"  curl -s -X POST {url}/v1/decisions \\",
        f"       -H 'Authorization: Bearer {keys['issuer']}' -H 'Content-Type: application/json' \\",
        f"       -d {shlex.quote(body)}",
        f"  curl -s {url}/v1/audit/verify -H 'Authorization: Bearer {keys['auditor']}'",
        "",
    ]
    typer.echo("\n".join(lines))
    sys.stdout.flush()
    _run(host, port, workers, "info")


def _demo_features() -> str:
    import json

    from explain import demo_data

    return json.dumps(demo_data().iloc[1].to_dict(), separators=(",", ":"), ensure_ascii=False)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def keys_create(
    role: Annotated[str, typer.Option("--role", help=_ROLES_HELP)],
    name: Annotated[str | None, typer.Option("--name", help="Who holds the key (shown in logs).")] = None,
    database_url: DatabaseOption = None,
    tenant: Annotated[str | None, typer.Option(
        "--tenant", help="Label the key with a tenant (the lender or brand an issuer key posts for).")] = None,
    scope_issuer: Annotated[list[str], typer.Option(
        "--scope-issuer", help="Agent keys: read only decisions issued by this key id; repeatable.",
    )] = [],  # noqa: B006
    scope_tenant: Annotated[str | None, typer.Option(
        "--scope-tenant", help="Agent keys: read only decisions issued by keys labelled with this tenant.")] = None,
) -> None:
    """Create an API key for ROLE and print it once (only its sha256 is stored)."""
    from explain.audit._store import ROLES, AuditStore

    if role not in ROLES:
        typer.echo(f"error: The '--role' must be one of {', '.join(map(repr, ROLES))}. Got {role!r} instead.", err=True)
        raise typer.Exit(2)
    if (scope_issuer or scope_tenant is not None) and role != "agent":
        typer.echo(f"error: Only an agent key takes '--scope-issuer' or '--scope-tenant'. Got '--role {role}'.",
                   err=True)
        raise typer.Exit(2)
    for label, value in (("--tenant", tenant), ("--scope-tenant", scope_tenant)):
        if value is not None and not (0 < len(value) <= 64 and value.isprintable() and value.strip() == value):
            typer.echo(f"error: The '{label}' must be 1 to 64 visible characters. Got {value!r} instead.", err=True)
            raise typer.Exit(2)
    store = AuditStore(_database_url(database_url))
    try:
        key, caller = store.create_api_key(role, name=name, tenant=tenant, scope_issuers=scope_issuer,
                                           scope_tenant=scope_tenant)
    finally:
        store.close()
    typer.echo(f"created {caller.role} key {caller.key_id} for {caller.name!r}; it is shown only now:", err=True)
    typer.echo(key)


def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    database_url: DatabaseOption = None,
) -> None:
    """List API keys: id, name, role, created, revoked. Never the keys themselves (only hashes are stored)."""
    import json

    from explain.audit._store import AuditStore

    if output not in ("table", "json"):
        typer.echo(f"error: The '--format' must be 'table' or 'json'. Got {output!r} instead.", err=True)
        raise typer.Exit(2)
    store = AuditStore(_database_url(database_url))
    try:
        keys = store.list_api_keys(include_revoked=all_keys)
    finally:
        store.close()
    if output == "json":
        from dataclasses import asdict

        typer.echo(json.dumps([asdict(k) for k in keys], ensure_ascii=False, indent=2))
        return
    typer.echo(f"{'KEY ID':<16}  {'ROLE':<8}  {'CREATED (UTC)':<19}  {'REVOKED (UTC)':<19}  NAME")
    for k in keys:
        revoked = (k.revoked_at or "yes")[:19] if k.revoked else "-"
        extra = "".join(f"  [{what}]" for what in (
            f"tenant {k.tenant}" if k.tenant else "",
            "scope " + json.dumps(k.scope, sort_keys=True) if k.scope else "") if what)
        typer.echo(f"{k.key_id:<16}  {k.role:<8}  {k.created_at[:19]:<19}  {revoked:<19}  {k.name}{extra}")


def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (second part of exk_<id>_<secret>; see `keys list`).")],
    database_url: DatabaseOption = None,
) -> None:
    """Revoke a key. Every worker refuses it at most EXPLAIN_AUTH_CACHE_SECONDS (default 2 s) later."""
    from explain.audit._store import AuditStore

    store = AuditStore(_database_url(database_url))
    try:
        found = store.revoke_api_key(key_id)
    finally:
        store.close()
    if not found:
        typer.echo(f"error: The key id {key_id!r} is not known; expected one listed by `explain keys list --all`.",
                   err=True)
        raise typer.Exit(2)
    typer.echo(f"revoked key {key_id}; the service refuses it within EXPLAIN_AUTH_CACHE_SECONDS (default 2 s)",
               err=True)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``serve-demo`` and ``keys create|list|revoke`` to the ``explain`` command."""
    app.command("serve")(serve)
    app.command("serve-demo")(serve_demo)
    keys_app = typer.Typer(help="Manage API keys of the service.", no_args_is_help=True)
    keys_app.command("create")(keys_create)
    keys_app.command("list")(keys_list)
    keys_app.command("revoke")(keys_revoke)
    app.add_typer(keys_app, name="keys")


def main() -> None:
    """``python -m explain.commands._cli_service ...``: the same commands without the rest of the CLI."""
    app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    register(app)
    app()


if __name__ == "__main__":
    main()
