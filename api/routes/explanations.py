"""What-if analysis: the decision's scoring and reasons, nothing stored, nothing rendered."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import BundlesDep, IssuerOrAgentDep, MetricsDep
from api.routing import GuardedRoute
from api.routes._views import explanation
from api.routes.decisions import _ERRORS, _bundle_for_request
from api.schemas import ExplanationRequest, ExplanationResponse, ProblemDetails
from api.service import analyse, recourse_for

router = APIRouter(prefix="/v1", tags=["explanations"], route_class=GuardedRoute)


@router.post(
    "/explanations",
    response_model=ExplanationResponse,
    responses={**_ERRORS, 413: {"model": ProblemDetails}},
    summary="Explain a decision without issuing it",
)
def explain_decision(
    request: Request, body: ExplanationRequest, caller: IssuerOrAgentDep, bundles: BundlesDep, metrics: MetricsDep
) -> ExplanationResponse:
    bundle = _bundle_for_request(bundles, body.bundle)
    with request.app.state.compute_slots:
        reasons = analyse(bundle, body.features, body.decision.value, body.policy_reasons)
        recourse = recourse_for(bundle, {"features": body.features, "decision": body.decision.value,
                                         "recourse_target": body.recourse_target})
    if recourse is not None:
        metrics.recourse_seconds.labels(recourse.status).observe(recourse.elapsed_ms / 1000)
    return explanation(bundle, reasons, recourse)
