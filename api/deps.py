"""Dependencies shared by the routes: settings, the store, the bundles, and who is calling in which role."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.metrics import Metrics
from api.problems import Problem
from api.service import BundleRegistry
from api.settings import Settings
from api.throttle import AuthThrottle, subjects_for
from explain.audit._store import AuditStore, Caller

__all__ = [
    "AgentOrAuditorDep",
    "AuditorDep",
    "BundlesDep",
    "CallerDep",
    "IssuerDep",
    "IssuerOrAgentDep",
    "MetricsDep",
    "SettingsDep",
    "StoreDep",
    "authenticate",
    "bearer_key",
    "caller_for",
    "check_role",
    "require_role",
    "throttled",
]

async def app_settings(request: Request) -> Settings:
    """The settings the app was built with (``create_app``). Not ``dependency_overrides``: with any override
    set, FastAPI rebuilds every sub-dependency of a route on every request (~1 ms of CPU per request)."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(app_settings)]


async def get_store(request: Request) -> AuditStore:
    return request.app.state.store


async def get_bundles(request: Request) -> BundleRegistry:
    return request.app.state.bundles


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


StoreDep = Annotated[AuditStore, Depends(get_store)]
BundlesDep = Annotated[BundleRegistry, Depends(get_bundles)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer exk_...`")


class KeyCache:
    """Recently authenticated keys, by the sha256 of the key, for ``ttl`` seconds (0 disables it).

    ``ttl`` is the revocation bound: a key revoked in the database is refused by every worker at most
    ``ttl`` seconds later (each worker keeps its own cache; no entry outlives its ``ttl``).
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Caller]] = {}
        self._lock = threading.Lock()

    def peek(self, key: str) -> Caller | None:
        """The cached caller for ``key`` if it is still fresh (no database call)."""
        if self.ttl <= 0:
            return None
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        with self._lock:
            hit = self._entries.get(digest)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def get(self, key: str, load: Callable[[str], Caller | None]) -> Caller | None:
        hit = self.peek(key)
        if hit is not None:
            return hit
        if self.ttl <= 0:
            return load(key)
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        now = time.monotonic()
        caller = load(key)
        if caller is not None:
            with self._lock:
                if len(self._entries) > 10_000:
                    self._entries.clear()
                self._entries[digest] = (now + self.ttl, caller)
        return caller


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="explain"'})


def bearer_key(request: Request) -> str:
    """The key in ``Authorization: Bearer <key>``, or 401."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise _unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
    return key


def throttled(retry_after: int) -> Problem:
    """429: this address or key id failed too often lately; nothing was checked."""
    return Problem(429, "too-many-failed-authentications", "Too many failed authentications",
                   f"Too many wrong keys from this address or for this key id. Retry after {retry_after} s.",
                   headers={"Retry-After": str(retry_after)})


def caller_for(request: Request, key: str) -> Caller:
    """The caller holding ``key`` (the key cache, else the database), or 401; 429 while the client's address or
    the key id must wait after failures (:mod:`api.throttle`), before the database is asked."""
    store: AuditStore = request.app.state.store
    throttle: AuthThrottle | None = request.app.state.auth_throttle
    subjects = subjects_for(request.client.host if request.client else None, key) if throttle else []
    if throttle is not None:
        retry_after = throttle.retry_after(subjects)
        if retry_after is not None:
            request.app.state.metrics.auth_throttled.labels("api").inc()
            raise throttled(retry_after)
    caller = request.app.state.key_cache.get(key, store.authenticate)
    if caller is None:
        request.app.state.metrics.auth_failures.labels("api").inc()
        if throttle is not None:
            throttle.failed(subjects)
        raise _unauthorized("The API key is not valid.")
    if throttle is not None:
        throttle.succeeded(subjects)
    return caller


def check_role(caller: Caller, roles: tuple[str, ...]) -> Caller:
    if caller.role not in roles:
        raise Problem(
            403,
            "forbidden",
            "Forbidden",
            f"This needs the role {' or '.join(map(repr, roles))}; the key has the role {caller.role!r}.",
        )
    return caller


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    """The caller; :class:`api.routing.GuardedRoute` has usually authenticated already, before the body.

    Async, like the other cheap dependencies here: FastAPI runs a plain ``def`` dependency in the thread
    pool, one hand-off per dependency per request; only the database look-up needs a thread."""
    known = getattr(request.state, "caller", None)
    if known is not None:
        return known
    return await run_in_threadpool(caller_for, request, bearer_key(request))


CallerDep = Annotated[Caller, Depends(authenticate)]


def require_role(*roles: str) -> Callable[[Caller], Caller]:
    """A dependency admitting only callers whose key carries one of ``roles`` (403 otherwise)."""

    async def check(caller: CallerDep) -> Caller:
        return check_role(caller, roles)

    check.roles = roles  # type: ignore[attr-defined]  # read by GuardedRoute to check before the body
    return check


IssuerDep = Annotated[Caller, Depends(require_role("issuer"))]
IssuerOrAgentDep = Annotated[Caller, Depends(require_role("issuer", "agent"))]
AgentOrAuditorDep = Annotated[Caller, Depends(require_role("agent", "auditor"))]
AuditorDep = Annotated[Caller, Depends(require_role("auditor"))]
