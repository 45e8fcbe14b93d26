"""Build the service: ``create_app()`` is the factory uvicorn runs (``explain serve``)."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.auditlog import start_log, stop_log
from api.deps import KeyCache
from api.headers import SecurityHeadersMiddleware
from api.limits import BodySizeLimitMiddleware
from api.metrics import Metrics, MetricsMiddleware
from api.problems import install_problem_handlers
from api.pages import agent as agent_page
from api.pages import reviews as review_pages
from api.routes import audit, bundles, decisions, explanations, health
from api.routes import log as log_routes
from api.routes import reviews as review_routes
from api.service import BundleRegistry
from api.throttle import AuthThrottle
from api.settings import Settings, get_settings
from explain.audit._store import AuditStore

__all__ = ["create_app"]

log = logging.getLogger("api")

DESCRIPTION = """
Explains credit-limit decisions: lender systems post a decision, the service scores and explains it,
chooses the principal reasons, renders the customer's notices (zh_CN and en) and appends a tamper-evident
audit record. Support agents read decisions back in their own language; auditors export, verify and replay.

Authenticate with `Authorization: Bearer <key>`; keys carry one role: `issuer`, `agent`, `auditor` or `reviewer`
(`explain keys create --role ROLE`). Every error is an RFC 9457 problem details document.
"""


def auth_throttle(settings: Settings, metrics: Metrics) -> AuthThrottle | None:
    """The failed-authentication throttle the settings ask for (None when ``EXPLAIN_AUTH_THROTTLE=false``)."""
    if not settings.auth_throttle:
        return None
    return AuthThrottle(free_failures=settings.auth_free_failures, delay=settings.auth_delay_seconds,
                        max_delay=settings.auth_max_delay_seconds, lockout_failures=settings.auth_lockout_failures,
                        lockout_seconds=settings.auth_lockout_seconds,
                        on_lockout=lambda scope: metrics.auth_lockouts.labels(scope).inc())


def _startup(app: FastAPI, settings: Settings) -> None:
    app.state.store = AuditStore(settings.database_url, migrate=settings.migrate_on_start,
                                 pool_size=settings.db_pool_size)
    registry = BundleRegistry.load(settings.bundles, trusted=settings.trusted_bundles)
    if settings.warm_up:
        registry.warm_up()
    app.state.bundles = registry
    start_log(app, settings, app.state.store)


def _problem_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with its default 422 body replaced by the problem details we actually send."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for component in components.values():
        if "enum" in component and "examples" not in component:
            component["examples"] = [component["enum"][0]]
    problem_ref = {"$ref": "#/components/schemas/ProblemDetails"}
    for methods in schema.get("paths", {}).values():
        for operation in methods.values():
            for status, response in operation.get("responses", {}).items():
                if status.startswith(("4", "5")):
                    response["content"] = {"application/problem+json": {"schema": problem_ref}}
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service. ``settings`` defaults to :func:`api.settings.get_settings` (the ``EXPLAIN_*`` environment).

    The store is opened (and migrated) and the bundles loaded when the app starts, not here, so building
    an app is cheap and does no I/O.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(_startup, app, settings)
        if settings.gc_freeze:
            gc.collect()
            gc.freeze()  # the start-up heap lives as long as the worker: never traverse it again
        log.info("explain service ready: %s, bundles %s", app.state.store.dialect, app.state.bundles.names())
        try:
            yield
        finally:
            stop_log(app)
            app.state.store.close()

    # FastAPIOffline serves the Swagger UI and ReDoc assets itself: lenders run this on networks that cannot
    # reach a CDN, where the stock /docs page would load blank.
    app = FastAPIOffline(title="limit-explain", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.key_cache = KeyCache(settings.auth_cache_seconds)
    app.state.auth_throttle = auth_throttle(settings, app.state.metrics)
    # Explaining is CPU-bound Python: more threads at once only fight over the GIL. Requests queue here
    # instead, so each one finishes sooner (throughput scales with worker processes, not threads).
    app.state.compute_slots = threading.BoundedSemaphore(settings.compute_concurrency)
    install_problem_handlers(app)
    for router in (decisions.router, explanations.router, bundles.router, audit.router, health.router,
                   review_pages.router, agent_page.router, log_routes.router, review_routes.router):
        app.include_router(router)
    # The last added is outermost: metrics time everything (413s included); the size limit answers before
    # anything reads the body.
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware, page_csp=agent_page.CSP, hsts_seconds=settings.hsts_seconds,
                       max_count=settings.max_header_count, max_line_bytes=settings.max_header_line_bytes,
                       max_total_bytes=settings.max_header_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    # Outermost: the client address and scheme the rest sees are the proxy's X-Forwarded-For/-Proto only when
    # the peer is one of EXPLAIN_FORWARDED_ALLOW_IPS (``explain serve`` leaves uvicorn's own copy off).
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    app.openapi = lambda: _problem_openapi(app)  # type: ignore[method-assign]
    return app
