"""Liveness, readiness and Prometheus metrics (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.problems import PROBLEM_JSON
from api.schemas import Health, ProblemDetails, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": ProblemDetails}},
            summary="The database answers and the bundles are loaded")
def readyz(request: Request) -> Response:
    state = request.app.state
    database = bool(getattr(state, "store", None)) and state.store.ping()
    bundles = state.bundles.names() if getattr(state, "bundles", None) is not None else []
    if database and bundles:
        return JSONResponse(Readiness(status="ready", database=True, bundles=bundles).model_dump())
    body = {"type": "urn:limit-explain:problem:not-ready", "title": "Not ready", "status": 503,
            "detail": "The service is not ready: " + ", ".join(
                part for part, ok in (("the database does not answer", database), ("no bundle is loaded", bundles))
                if not ok) + ".",
            "instance": "/readyz", "database": database, "bundles": bundles}
    return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)


@router.get("/metrics", response_class=Response, summary="Prometheus metrics",
            responses={200: {"content": {"text/plain": {"example": "explain_notices_total{...} 3.0\n"}}}})
def metrics(request: Request) -> Response:
    m = request.app.state.metrics
    return Response(m.render(), media_type=m.content_type)
