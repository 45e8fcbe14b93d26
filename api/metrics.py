"""Prometheus metrics: request latency, notices issued by kind and locale, errors.

Each app owns a :class:`Metrics` with its own registry (so tests can build many apps). When the service
runs several workers, ``explain serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` aggregates
every worker's files through :class:`prometheus_client.multiprocess.MultiProcessCollector`.
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

__all__ = ["Metrics", "MetricsMiddleware"]

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "explain_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["method", "route", "status"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.notices = Counter(
            "explain_notices",
            "Notices issued, by decision kind, locale and channel.",
            ["kind", "locale", "channel"],
            registry=self.registry,
        )
        self.recourse_seconds = Histogram(
            "explain_recourse_duration_seconds",
            "Time to search what would change an adverse decision (explain.recourse), by outcome.",
            ["status"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "explain_http_errors",
            "Requests answered with an error status, by route template and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.review_events = Counter(
            "explain_review_events",
            "Actions taken on human reviews, by action.",
            ["action"],
            registry=self.registry,
        )
        self.reviews_overdue = Gauge(
            "explain_reviews_overdue",
            "Open reviews past their due date, as of the last queue read.",
            registry=self.registry,
            multiprocess_mode="max",
        )

        self.auth_failures = Counter(
            "explain_auth_failures",
            "Failed authentications (a wrong, unknown or revoked key), by where: api or page.",
            ["via"],
            registry=self.registry,
        )
        self.auth_lockouts = Counter(
            "explain_auth_lockouts",
            "Lockouts after repeated failed authentication, by what was locked out: address or key.",
            ["scope"],
            registry=self.registry,
        )
        self.auth_throttled = Counter(
            "explain_auth_throttled",
            "Authentication attempts refused (429) while their address or key id had to wait.",
            ["via"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware: times every HTTP request and counts the ones that end in an error."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"
            self.metrics.request_seconds.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - start
            )
            if status >= 400:
                self.metrics.errors.labels(template, str(status)).inc()
