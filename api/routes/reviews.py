"""Human review of a decision: the customer's request (issuer, for its channel), the queue (agents,
reviewers, auditors), actions (agents triage and note, reviewers decide) and the replay of outcome notices."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from api.deps import BundlesDep, MetricsDep, StoreDep, require_role
from api.params import NO_CONTROL, DecisionIdPath
from api.problems import Problem
from api.review_schemas import ReviewActionRequest, ReviewOut, ReviewQueue, ReviewReplay, ReviewRequest
from api.routing import GuardedRoute
from api.schemas import ProblemDetails
from api.issued import issuing_bundle
from api.service import BundleRegistry, UnknownBundleError
from explain.audit._audit import AuditRecord, canonical_json
from explain.audit._store import AuditStore, Caller, IdempotencyClaim, IdempotencyConflictError
from explain.review import (FINAL_STATES, Review, ReviewError, ReviewForbiddenError, ReviewNotFoundError,
                            ReviewOpenError, ReviewStore, ReviewWindowClosedError, State, TransitionError, act,
                            replay_review, request_review)

__all__ = ["review_problem", "router"]

router = APIRouter(prefix="/v1", tags=["reviews"], route_class=GuardedRoute)

_ERRORS = {401: {"model": ProblemDetails}, 403: {"model": ProblemDetails}, 404: {"model": ProblemDetails},
           409: {"model": ProblemDetails}, 422: {"model": ProblemDetails}}

IssuerCaller = Annotated[Caller, Depends(require_role("issuer"))]
ReaderCaller = Annotated[Caller, Depends(require_role("agent", "reviewer", "auditor", "issuer"))]
QueueCaller = Annotated[Caller, Depends(require_role("agent", "reviewer", "auditor"))]
ActorCaller = Annotated[Caller, Depends(require_role("issuer", "agent", "reviewer"))]
AuditorCaller = Annotated[Caller, Depends(require_role("auditor"))]


def review_problem(exc: ReviewError) -> Problem:
    """The one translation of the review stage's errors into problem details."""
    if isinstance(exc, ReviewNotFoundError):
        return Problem(404, f"{exc.what}-not-found", f"{exc.what.capitalize()} not found", str(exc))
    if isinstance(exc, TransitionError):
        return Problem(409, "forbidden-transition", "Forbidden transition", str(exc), state=exc.state,
                       action=exc.action, allowed=list(exc.allowed))
    if isinstance(exc, ReviewWindowClosedError):
        return Problem(409, "review-window-closed", "Review window closed", str(exc),
                       last_day=exc.last_day.isoformat(), window_days=exc.window_days)
    if isinstance(exc, ReviewOpenError):
        return Problem(409, "review-open", "A review is already open", str(exc), review_id=exc.review_id,
                       state=exc.state)
    if isinstance(exc, ReviewForbiddenError):
        return Problem(403, "four-eyes" if exc.rule == "four eyes" else "forbidden", "Forbidden", str(exc),
                       rule=exc.rule)
    return Problem(500, "review-error", "Review error", str(exc))


def _decision(store: AuditStore, decision_id: str) -> AuditRecord:
    record = store.get(decision_id)
    if record is None:
        raise Problem(404, "decision-not-found", "Decision not found", f"There is no decision with id {decision_id!r}.")
    return record


def _bundle(bundles: BundleRegistry, record: AuditRecord) -> Any:
    return issuing_bundle(bundles, record)


def _out(review: Review) -> ReviewOut:
    return ReviewOut(**review.to_dict())


@router.post("/decisions/{decision_id}/reviews", status_code=201, response_model=ReviewOut, responses=_ERRORS,
             summary="Ask for a human review of a decision (for the customer)")
def create_review(
    request: Request, decision_id: DecisionIdPath, body: ReviewRequest, caller: IssuerCaller, store: StoreDep,
    bundles: BundlesDep, metrics: MetricsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255,
                                                  pattern=NO_CONTROL,
                                                  description="Retry-safe: the same key returns the first "
                                                              "response.")] = None,
) -> Response:
    """Opens a review in state ``requested``, with its due date from the jurisdiction. Refused (409) after the
    profile's review window or while another review of the decision is open. With an ``Idempotency-Key`` a
    retry gets the first response, byte for byte."""
    claim = None
    if idempotency_key is not None:
        payload = {"decision_id": decision_id, **body.model_dump(mode="json")}
        request_sha = hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()
        claim = IdempotencyClaim(caller=caller.key_id, key=idempotency_key, request_sha256=request_sha)
        seen = store.idempotent_response(caller.key_id, idempotency_key)
        if seen is not None:
            if seen.request_sha256 != request_sha:
                raise IdempotencyConflictError(idempotency_key)
            return Response(seen.body, status_code=seen.status_code, media_type="application/json",
                            headers={"Idempotent-Replayed": "true"})
    record = _decision(store, decision_id)
    bundle = _bundle(bundles, record)
    try:
        opened = request_review(ReviewStore(store), record, bundle, caller=caller, statement=body.statement,
                                facts=body.facts, channel=body.channel, idempotency=claim,
                                respond=lambda r: (201, _out(r).model_dump_json()))
    except ReviewError as exc:
        raise review_problem(exc) from None
    if opened.replayed:
        return Response(opened.response.body, status_code=opened.response.status_code,
                        media_type="application/json", headers={"Idempotent-Replayed": "true"})
    text = opened.response.body if opened.response else _out(opened.review).model_dump_json()
    metrics.review_events.labels("request").inc()
    return Response(text, status_code=201, media_type="application/json",
                    headers={"Location": f"/v1/reviews/{opened.review.review_id}"})


@router.get("/decisions/{decision_id}/reviews", response_model=list[ReviewOut], responses=_ERRORS,
            summary="A decision's reviews, oldest first")
def decision_reviews(decision_id: DecisionIdPath, caller: ReaderCaller, store: StoreDep) -> list[ReviewOut]:
    _decision(store, decision_id)
    return [_out(r) for r in ReviewStore(store).for_decision(decision_id)]


@router.get("/reviews", response_model=ReviewQueue, responses=_ERRORS, summary="The review queue")
def review_queue(
    caller: QueueCaller, store: StoreDep, metrics: MetricsDep,
    state: Annotated[State | None, Query(description="Only reviews in this state.")] = None,
    due_before: Annotated[dt.date | None, Query(description="Only reviews due on or before this date.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> ReviewQueue:
    """Overdue open reviews first, then by due date."""
    reviews = ReviewStore(store)
    today = dt.datetime.now(dt.UTC).date()
    overdue = reviews.overdue_count(today)
    metrics.reviews_overdue.set(overdue)
    found = reviews.queue(today=today, state=state.value if state else None, due_before=due_before, limit=limit,
                          offset=offset)
    return ReviewQueue(overdue=overdue, reviews=[_out(r) for r in found])


def _review(store: AuditStore, review_id: str) -> Review:
    review = ReviewStore(store).get(review_id)
    if review is None:
        raise Problem(404, "review-not-found", "Review not found", f"There is no review with id {review_id!r}.")
    return review


@router.get("/reviews/{review_id}", response_model=ReviewOut, responses=_ERRORS, summary="One review")
def get_review(review_id: DecisionIdPath, caller: ReaderCaller, store: StoreDep) -> ReviewOut:
    """The review with every event; reading it is logged as a read of its decision (who looked at which account)."""
    review = _review(store, review_id)
    store.log_reads(caller, [_decision(store, review.decision_id)], via="api")
    return _out(review)


@router.post("/reviews/{review_id}/actions", response_model=ReviewOut, responses=_ERRORS,
             summary="Act on a review: triage, note, what_if, uphold, overturn, confirm, reject, withdraw")
def review_action(request: Request, review_id: DecisionIdPath, body: ReviewActionRequest, caller: ActorCaller,
                  store: StoreDep, bundles: BundlesDep, metrics: MetricsDep) -> ReviewOut:
    """Agents triage and add notes; reviewers run what-ifs and decide (not the key that issued the decision);
    an overturn above the profile's threshold waits for a second reviewer's ``confirm`` (or ``reject``).
    A move the review's state does not allow is a 409 naming the state and the allowed moves."""
    review = _review(store, review_id)
    record = _decision(store, review.decision_id)
    bundle = _bundle(bundles, record)
    try:
        with request.app.state.compute_slots:  # a what-if explains, and outcome notices render: CPU-bound
            updated = act(ReviewStore(store), review_id, body.action, caller=caller, record=record, bundle=bundle,
                          rationale=body.rationale, outcome_reasons=body.outcome_reasons, new_limit=body.new_limit,
                          facts=body.facts)
    except ReviewError as exc:
        raise review_problem(exc) from None
    metrics.review_events.labels(body.action).inc()
    return _out(updated)


@router.get("/reviews/{review_id}/replay", response_model=ReviewReplay, responses=_ERRORS,
            summary="Render a review's outcome notices again and compare")
def replay(review_id: DecisionIdPath, caller: AuditorCaller, store: StoreDep, bundles: BundlesDep) -> ReviewReplay:
    review = _review(store, review_id)
    record = _decision(store, review.decision_id)
    try:
        bundle = bundles.get(record.bundle_name)
    except UnknownBundleError:
        bundle = None
    return ReviewReplay(**replay_review(review, bundle))


def open_review(store: AuditStore, decision_id: str) -> Review | None:
    """The decision's open review, if any (for the decision record's ``held``)."""
    for review in ReviewStore(store).for_decision(decision_id):
        if review.state not in FINAL_STATES:
            return review
    return None
