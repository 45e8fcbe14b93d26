"""RFC 9457 problem details: the one JSON shape of every error the service returns.

Domain errors (:class:`explain.ExplainError` and the store's) are translated here and only here. A
``problem+json`` body always has ``type``, ``title``, ``status`` and ``detail``; input errors add ``errors``,
one entry per offending field: ``{"field": "features.age_in_years", "message": ..., "expected": ...}``.
Unexpected failures answer 500 with no trace of the internals (the trace goes to the server log).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy.exc

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from explain import (
    ExplainError,
    FeatureMismatchError,
    InvalidInputError,
    UnknownDecisionError,
    UnknownReasonError,
    UnsupportedLocaleError,
)
from explain.notices._locales import CatalogMissingError
from explain.printing._errors import PrintingUnavailableError
from explain.audit._store import IdempotencyConflictError

__all__ = [
    "DATABASE_RETRY_AFTER",
    "PROBLEM_JSON",
    "Problem",
    "body_problem",
    "database_unavailable",
    "install_problem_handlers",
    "is_database_outage",
    "problem_response",
]

log = logging.getLogger("api")

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "urn:limit-explain:problem:"
#: Seconds a client is told to wait (``Retry-After``) when the database does not answer.
DATABASE_RETRY_AFTER = 2


class Problem(Exception):
    """An error the service answers with on purpose: raised anywhere in ``api/``, rendered by the handler."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": _TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    instance = request.url.path if request is not None else None
    return JSONResponse(problem.body(instance), status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON)


def body_problem(message: str, expected: str) -> Problem:
    """A request body that cannot be read as a document at all (not JSON, not UTF-8, nested too deep)."""
    return Problem(422, "invalid-body", "Invalid request body", f"The request body {message}; expected {expected}.",
                   errors=[{"field": "body", "message": message, "expected": expected}])


def is_database_outage(exc: BaseException) -> bool:
    """The database could not be reached or dropped the connection: the caller may retry, nothing was stored.

    ``OperationalError`` (refused, terminated by the server, SQLite busy past its timeout), ``InterfaceError``
    (a closed connection), the pool's ``TimeoutError``, and any DBAPI error flagged as a lost connection.
    Data errors (a value the database refuses) are not outages: input validation must keep them out.
    """
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError | sqlalchemy.exc.TimeoutError):
        return True
    return isinstance(exc, sqlalchemy.exc.DBAPIError) and bool(exc.connection_invalidated)


def database_unavailable(exc: BaseException) -> Problem:
    """503 with ``Retry-After``; one log line, no traceback (an outage is an operating condition, not a bug).

    Nothing partial is ever stored (each append is one transaction), but a connection lost during the commit
    leaves it unknown whether the commit landed: hence the advice to retry with the same idempotency key.
    """
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    log.warning("database unavailable: %s: %s", type(cause).__name__, lines[0][:200] if lines else "")
    return Problem(503, "database-unavailable", "Database unavailable",
                   f"The audit database does not answer. Retry after {DATABASE_RETRY_AFTER} s; with the same "
                   "Idempotency-Key a decision is recorded exactly once, however the first try ended.",
                   headers={"Retry-After": str(DATABASE_RETRY_AFTER)})


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "features", "age")`` -> ``features.age``; ``("query", "since")`` -> ``since``; headers keep
    their prefix (``header.Idempotency-Key``) since their names can collide with body fields."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


# What a field should have been, by pydantic error type, when the error's context does not say.
_EXPECTED_BY_TYPE = {
    "missing": "a value (the field is required)",
    "extra_forbidden": "no such field (see the request schema in /docs)",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "int_parsing": "an integer",
    "int_type": "an integer",
    "string_type": "a string",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "an object",
    "date_from_datetime_parsing": "a date, YYYY-MM-DD",
    "date_parsing": "a date, YYYY-MM-DD",
    "datetime_from_date_parsing": "a date-time, ISO 8601",
    "datetime_parsing": "a date-time, ISO 8601",
    "json_invalid": "a JSON document",
    "model_attributes_type": "a JSON object",
}


def _expected(err: dict[str, Any]) -> str | None:
    ctx = err.get("ctx") or {}
    if "expected" in ctx:
        return str(ctx["expected"])
    for key, word in (("pattern", "matching"), ("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"),
                      ("min_length", "length >="), ("max_length", "length <=")):
        if key in ctx:
            return f"{word} {ctx[key]}"
    return _EXPECTED_BY_TYPE.get(err.get("type", ""))


def from_validation(exc: RequestValidationError) -> Problem:
    errors = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":  # loc is ("body", <character offset>): the body is at fault
            where = err.get("loc", ("body", "?"))[-1]
            reason = (err.get("ctx") or {}).get("error", "invalid JSON")
            errors.append({"field": "body", "message": f"not a JSON document ({reason} at character {where})",
                           "code": "json_invalid", "expected": "a JSON document"})
            continue
        entry = {"field": _field(err.get("loc", ())), "message": err.get("msg", "invalid"), "code": err.get("type")}
        expected = _expected(err)
        if expected:
            entry["expected"] = expected
        errors.append(entry)
    fields = ", ".join(e["field"] for e in errors)
    return Problem(422, "invalid-request", "Invalid request", f"The request has invalid fields: {fields}.", errors=errors)


_CALLER_ERRORS = (FeatureMismatchError, UnknownDecisionError, UnknownReasonError, UnsupportedLocaleError,
                  InvalidInputError)


def from_explain_error(exc: ExplainError) -> Problem:
    """One place mapping the toolkit's exceptions to HTTP.

    What the caller sent (features, decision, policy reasons, locales, limits) is a 422 naming the field;
    anything else (a catalog without a translation, a failed additivity check, a broken bundle) is the
    service's own fault: 500, with the toolkit's one-line message and no trace.
    """
    message = str(exc)
    if isinstance(exc, CatalogMissingError):  # the server was built without `make locales`: not the caller's fault
        log.error("not ready: %s", message)
        return Problem(503, "not-ready", "Not ready", "The service cannot render notices yet: a compiled message "
                       "catalog is missing.", headers={"Retry-After": "30"})
    if isinstance(exc, PrintingUnavailableError):  # the server was installed without the 'pdf' extra or Pango
        log.error("cannot print: %s", message)
        return Problem(503, "printing-unavailable", "Printing unavailable", "This service cannot print letters: "
                       "WeasyPrint (the 'pdf' extra) or its system libraries are not installed.")
    if not isinstance(exc, _CALLER_ERRORS):
        log.error("cannot explain: %s", message)
        return Problem(500, "cannot-explain", "Cannot explain", message)
    if isinstance(exc, FeatureMismatchError):
        fields = [f"features.{c}" for c in exc.columns] or ["features"]
        errors = [{"field": f, "message": exc.problem, "expected": exc.expected or None, "got": exc.got or None} for f in fields]
    elif isinstance(exc, UnknownDecisionError):
        errors = [{"field": "decision", "message": message, "expected": f"one of {', '.join(exc.allowed)}"}]
    elif isinstance(exc, UnknownReasonError):
        errors = [{"field": "policy_reasons", "message": message, "expected": f"one of {', '.join(exc.allowed)}"}]
    elif isinstance(exc, UnsupportedLocaleError):
        errors = [{"field": exc.field, "message": message, "expected": f"one of {', '.join(exc.supported)}"}]
    else:
        errors = [{"field": exc.field, "message": message, "expected": exc.expected}]
    for e in errors:
        for key in ("expected", "got"):
            if e.get(key) is None:
                e.pop(key, None)
    return Problem(422, "invalid-input", "Input cannot be explained", message, errors=errors)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(from_validation(exc), request)

    @app.exception_handler(ExplainError)
    async def _explain(request: Request, exc: ExplainError) -> JSONResponse:
        return problem_response(from_explain_error(exc), request)

    @app.exception_handler(IdempotencyConflictError)
    async def _idempotency(request: Request, exc: IdempotencyConflictError) -> JSONResponse:
        problem = Problem(
            422,
            "idempotency-key-reused",
            "Idempotency key reused",
            str(exc),
            errors=[{"field": "header.Idempotency-Key", "message": str(exc), "expected": "the body of the first request"}],
        )
        return problem_response(problem, request)

    @app.exception_handler(sqlalchemy.exc.SQLAlchemyError)
    async def _database(request: Request, exc: sqlalchemy.exc.SQLAlchemyError) -> JSONResponse:
        if is_database_outage(exc):
            return problem_response(database_unavailable(exc), request)
        return _internal_error(request, exc, traceback=True)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        problem = getattr(exc, "problem", None)
        if isinstance(problem, Problem):  # e.g. a streamed body over the limit: the same errors[] as any 413
            return problem_response(problem, request)
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            return problem_response(body_problem("cannot be parsed", "a JSON document"), request)
        titles = {404: "Not found", 405: "Method not allowed", 413: "Request body too large"}
        title = titles.get(exc.status_code, "HTTP error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"There is nothing at {request.url.path}."
        slug = title.lower().replace(" ", "-")
        return problem_response(Problem(exc.status_code, slug, title, detail, headers=exc.headers), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_database_outage(exc):  # e.g. wrapped by a library on the way up
            return problem_response(database_unavailable(exc), request)
        return _internal_error(request, exc)


def _internal_error(request: Request, exc: BaseException, *, traceback: bool = False) -> JSONResponse:
    """500 with no trace of the internals, and ``Connection: close``: after the catch-all handler Starlette
    re-raises and the server drops the connection, which a keep-alive client must be told about (it would
    otherwise lose its next request). The traceback is logged once: by the server for the catch-all, here
    (``traceback=True``) for errors handled without a re-raise."""
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=traceback)
    problem = Problem(500, "internal-error", "Internal server error",
                      "The server could not complete the request; it has been logged.", headers={"Connection": "close"})
    return problem_response(problem, request)
