"""Routes that authenticate before they read a body, and read bodies only as UTF-8 JSON documents.

FastAPI reads and parses the request body before it resolves any dependency, so with plain routes an
unauthenticated caller learns how its body parses (422) rather than that it is not let in (401), and a body
that is not UTF-8 or is nested past the parser's recursion limit gets a bare 400. :class:`GuardedRoute`
runs first, for every route whose dependencies include :func:`api.deps.authenticate`:

1. the key (401), through the key cache; the database call, if any, in the thread pool;
2. the role (403), read from the :func:`api.deps.require_role` dependency of the route;
3. for JSON bodies: read (the size limit applies while it streams), decoded as UTF-8 and parsed, every
   failure a 422 naming ``body``. The parsed document is left on the request, so FastAPI does not parse it
   again; the caller found in step 1 is left on ``request.state`` for the route's own dependencies.
"""

from __future__ import annotations

import email.message
import json
import re
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from api.deps import authenticate, bearer_key, caller_for, check_role
from api.problems import Problem, body_problem
from explain.audit._store import ROLES

__all__ = ["GuardedRoute", "parse_json_body"]


def _roles(dependant: Dependant) -> tuple[str, ...] | None:
    """The roles a route admits, found in its dependency tree: a :func:`~api.deps.require_role` check's, or
    every role for a bare :func:`~api.deps.authenticate`; None when the route needs no key."""
    for dep in dependant.dependencies:
        roles = getattr(dep.call, "roles", None)
        if roles is not None:
            return tuple(roles)
    for dep in dependant.dependencies:
        if dep.call is authenticate:
            return ROLES
        inner = _roles(dep)
        if inner is not None:
            return inner
    return None


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def parse_json_body(raw: bytes) -> Any:
    """``raw`` as a JSON document, or a 422 problem naming ``body`` that says what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise body_problem(f"is not UTF-8 (byte {exc.start})", "a JSON document in UTF-8") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise body_problem(f"is not a JSON document ({exc.msg} at character {exc.pos})", "a JSON document") from None
    except RecursionError:
        raise body_problem("is nested too deeply", "a JSON document nested at most a few levels") from None
    except ValueError:  # an integer literal past Python's 4,300-digit conversion limit
        raise body_problem(f"has an integer literal longer than {sys.get_int_max_str_digits()} digits",
                           "a JSON document whose numbers fit their fields") from None
    if _SURROGATE_ESCAPE.search(text):  # rare: only then walk the document for an unpaired one
        where = _lone_surrogate(document, "")
        if where is not None:
            field, code = where
            raise Problem(422, "invalid-request", "Invalid request", f"The request has invalid fields: {field}.",
                          errors=[{"field": field, "message": f"has a lone surrogate escape (U+{code:04X}), which is "
                                   "not a character", "expected": "valid Unicode text"}])
    return document


# JSON may write a UTF-16 surrogate as an escape; alone (unpaired) it is not text, and cannot be encoded,
# hashed or stored: found here, once, instead of as an encoding error deep in the request.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _lone_surrogate(value: Any, path: str) -> tuple[str, int] | None:
    """The field (``features.purpose``, ``locales[0]``) holding an unpaired surrogate, and its code point."""
    if isinstance(value, str):
        for char in value:
            if 0xD800 <= ord(char) <= 0xDFFF:
                return path or "body", ord(char)
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _lone_surrogate(key, path) or _lone_surrogate(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _lone_surrogate(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


class GuardedRoute(APIRoute):
    """An :class:`~fastapi.routing.APIRoute` that checks the key and role, then the body's syntax, first.

    The roles a route admits are published in its OpenAPI operation as ``x-roles`` (clients, docs and
    the tests that try every role on every operation read them from there).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        roles = _roles(self.dependant)
        if roles is not None:
            self.openapi_extra = {**(self.openapi_extra or {}), "x-roles": list(roles)}

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        roles = _roles(self.dependant)
        has_body = self.body_field is not None

        async def guarded(request: Request) -> Response:
            if roles is not None:
                key = bearer_key(request)
                caller = request.app.state.key_cache.peek(key) or await run_in_threadpool(caller_for, request, key)
                request.state.caller = check_role(caller, roles)
            content_type = request.headers.get("content-type")
            if has_body and (not content_type or _is_json(content_type)):  # FastAPI reads both as JSON
                raw = await request.body()
                if raw:
                    request._json = parse_json_body(raw)  # noqa: SLF001 - Starlette's own cache of request.json()
            return await handler(request)

        return guarded
