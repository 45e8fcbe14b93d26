"""Refusing oversized request bodies before anything reads them."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException

from api.problems import Problem, problem_response

__all__ = ["BodySizeLimitMiddleware", "BodyTooLargeError", "too_large"]


def too_large(limit: int, got: str) -> Problem:
    """The one 413 answer, whichever way the size was found out (``Content-Length`` or counting a stream)."""
    return Problem(
        413,
        "request-body-too-large",
        "Request body too large",
        f"The request body must be at most {limit} bytes. Got {got}.",
        errors=[{"field": "body", "message": "too large", "expected": f"at most {limit} bytes"}],
        headers={"Connection": "close"},
    )


class BodyTooLargeError(StarletteHTTPException):
    """Raised from ``receive`` when a streamed body passes the limit; FastAPI lets HTTP exceptions through,
    and the problem handler answers with :attr:`problem` (the same body as the ``Content-Length`` path)."""

    def __init__(self, limit: int) -> None:
        self.problem = too_large(limit, f"more than {limit} bytes")
        super().__init__(413, self.problem.detail, headers=self.problem.headers)


class BodySizeLimitMiddleware:
    """Answer 413 when ``Content-Length`` says too much, or when a chunked body grows past the limit."""

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await self._send(scope, receive, send, f"{int(length)} bytes")
            return
        received = 0
        started = False

        async def limited_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLargeError(self.max_body_bytes)
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError:
            if not started:
                await self._send(scope, receive, send, f"more than {self.max_body_bytes} bytes")

    async def _send(self, scope: dict, receive: Any, send: Any, got: str) -> None:
        from starlette.requests import Request

        response = problem_response(too_large(self.max_body_bytes, got), Request(scope))
        await response(scope, receive, send)
