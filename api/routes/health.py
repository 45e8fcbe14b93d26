"""Liveness, readiness and Prometheus metrics (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.problems import PROBLEM_JSON
from api.schemas import Health, ProblemDetails, Readiness
from explain._exceptions import ExplainError
from explain.notices._locales import SUPPORTED_LOCALES, get_translations

router = APIRouter(tags=["health"])

#: Seconds a balancer is told to wait before asking /readyz again when it is not ready.
READY_RETRY_AFTER = 5


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


def _catalogs() -> tuple[list[str], str | None]:
    """The locales whose compiled catalog loads, and what is wrong with the others."""
    loaded, problems = [], []
    for locale in SUPPORTED_LOCALES:
        try:
            get_translations(locale)
            loaded.append(locale)
        except ExplainError as exc:
            problems.append(str(exc))
    return loaded, " ".join(problems) or None


@router.get("/readyz", response_model=Readiness, responses={503: {"model": ProblemDetails}},
            summary="The database answers, the bundles are loaded and the message catalogs compiled")
def readyz(request: Request) -> Response:
    """200 when a notice can be issued end to end; otherwise 503 with ``Retry-After`` and, per check, why not."""
    state = request.app.state
    store = getattr(state, "store", None)
    database_problem = store.health() if store is not None else "the store is not open yet"
    bundles = state.bundles.names() if getattr(state, "bundles", None) is not None else []
    catalogs, catalog_problem = _catalogs()
    if database_problem is None and bundles and catalog_problem is None:
        return JSONResponse(Readiness(status="ready", database=True, bundles=bundles, catalogs=catalogs).model_dump())
    problems = {
        "database": None if database_problem is None else f"the database does not answer ({database_problem})",
        "bundles": None if bundles else "no bundle is loaded",
        "catalogs": catalog_problem,
    }
    body = {"type": "urn:limit-explain:problem:not-ready", "title": "Not ready", "status": 503,
            "detail": "The service is not ready: " + "; ".join(p for p in problems.values() if p) + ".",
            "instance": "/readyz", "database": database_problem is None, "bundles": bundles, "catalogs": catalogs,
            "problems": {k: v for k, v in problems.items() if v}}
    return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON,
                        headers={"Retry-After": str(READY_RETRY_AFTER)})


@router.get("/metrics", response_class=Response, summary="Prometheus metrics",
            responses={200: {"content": {"text/plain": {"example": "explain_notices_total{...} 3.0\n"}}}})
def metrics(request: Request) -> Response:
    m = request.app.state.metrics
    return Response(m.render(), media_type=m.content_type)
