"""Security headers on every response, and limits on the request's headers.

One pure ASGI middleware, cheap on the hot path (a few header tuples appended per response; no body is read
except the two small documentation pages, whose inline script it hashes into their policy):

- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer`` and a
  ``Content-Security-Policy`` on every response that has none of its own: the agent page's policy under
  ``/agent`` (its errors included), a policy admitting the bundled Swagger UI and ReDoc assets on ``/docs``
  and ``/redoc``, inline styles only for the compliance report, and ``default-src 'none'`` everywhere else;
- ``Strict-Transport-Security`` when the request came over HTTPS (directly, or through a trusted proxy's
  ``X-Forwarded-Proto``);
- 431 problem+json when a request has more than ``max_count`` headers, or one header line (name and value)
  longer than ``max_line_bytes``, or all of them together longer than ``max_total_bytes``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from starlette.requests import Request

from api.problems import Problem, problem_response

__all__ = ["SecurityHeadersMiddleware", "docs_policy", "header_limits_problem"]

_API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_REPORT_CSP = (b"default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
               b"base-uri 'none'; form-action 'none'")
_DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def docs_policy(html: bytes) -> bytes:
    """The policy of a documentation page: its own assets, and exactly the inline scripts it carries (by hash).

    Swagger UI and ReDoc set inline styles and load the schema with ``fetch``; ReDoc may index in a worker.
    """
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'"
                      for s in _INLINE_SCRIPT.findall(html))
    return (f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'").replace("  ", " ").encode()


def header_limits_problem(headers: list[tuple[bytes, bytes]], *, max_count: int, max_line_bytes: int,
                          max_total_bytes: int) -> Problem | None:
    """A 431 problem when the request's headers pass a limit, naming which; None when they are within all."""
    if len(headers) > max_count:
        return _too_large(f"{len(headers)} header fields (at most {max_count})", f"at most {max_count} header fields")
    total = 0
    for name, value in headers:
        line = len(name) + len(value) + 4  # "name: value\r\n"
        if line > max_line_bytes:
            shown = name.decode("latin-1")[:64]
            return _too_large(f"a {shown} header of {line} bytes (at most {max_line_bytes})",
                              f"header lines of at most {max_line_bytes} bytes")
        total += line
    if total > max_total_bytes:
        return _too_large(f"{total} bytes of headers (at most {max_total_bytes})",
                          f"at most {max_total_bytes} bytes of headers")
    return None


def _too_large(message: str, expected: str) -> Problem:
    return Problem(431, "request-header-fields-too-large", "Request header fields too large",
                   f"The request has {message}.", errors=[{"field": "headers", "message": message,
                                                           "expected": expected}],
                   headers={"Connection": "close"})


class SecurityHeadersMiddleware:
    """Adds the security headers a response lacks; refuses requests whose headers pass the limits (431)."""

    def __init__(self, app: Any, *, page_csp: str, hsts_seconds: int, max_count: int, max_line_bytes: int,
                 max_total_bytes: int) -> None:
        self.app = app
        self.page_csp = page_csp.encode()
        self.hsts = f"max-age={hsts_seconds}".encode() if hsts_seconds > 0 else None
        self.limits = {"max_count": max_count, "max_line_bytes": max_line_bytes, "max_total_bytes": max_total_bytes}
        self._docs_csp: dict[bytes, bytes] = {}

    def _policy(self, path: str) -> bytes:
        if path == "/agent" or path.startswith("/agent/"):
            return self.page_csp
        if path == "/v1/audit/report":
            return _REPORT_CSP
        return _API_CSP

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = header_limits_problem(scope.get("headers") or [], **self.limits)
        if problem is not None:
            await self._respond(problem, scope, receive, send)
            return
        path = scope.get("path", "")
        https = scope.get("scheme") == "https"
        if path in _DOCS_PATHS:
            await self._docs(scope, receive, send, https)
            return
        policy = self._policy(path)

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._add(list(message.get("headers") or []), policy, https)
            await send(message)

        await self.app(scope, receive, with_headers)

    def _add(self, headers: list[tuple[bytes, bytes]], policy: bytes, https: bool) -> list[tuple[bytes, bytes]]:
        present = {name.lower() for name, _ in headers}
        for name, value in ((b"content-security-policy", policy), (b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")):
            if name not in present:
                headers.append((name, value))
        if https and self.hsts is not None and b"strict-transport-security" not in present:
            headers.append((b"strict-transport-security", self.hsts))
        return headers

    async def _docs(self, scope: dict, receive: Any, send: Any, https: bool) -> None:
        """Documentation pages are small: hold the body, hash its inline scripts into the policy, send."""
        start: dict | None = None
        chunks: list[bytes] = []

        async def hold(message: dict) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = b"".join(chunks)
                key = hashlib.sha256(body).digest()
                policy = self._docs_csp.get(key)
                if policy is None:
                    if len(self._docs_csp) > 16:
                        self._docs_csp.clear()
                    policy = self._docs_csp[key] = docs_policy(body)
                assert start is not None
                start["headers"] = self._add(list(start.get("headers") or []), policy, https)
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, hold)

    @staticmethod
    async def _respond(problem: Problem, scope: dict, receive: Any, send: Any) -> None:
        response = problem_response(problem, Request(scope))
        response.headers["Content-Security-Policy"] = _API_CSP.decode()
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        await response(scope, receive, send)
