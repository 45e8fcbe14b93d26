"""Issuing decisions (issuers) and reading them back (agents and auditors)."""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response

from api.deps import AgentOrAuditorDep, BundlesDep, IssuerDep, MetricsDep, SettingsDep, StoreDep
from api.routing import GuardedRoute
from api.params import MAX_OFFSET, NO_CONTROL, AccountRefPath, DecisionIdPath, LocaleQuery
from api.problems import Problem
from api.routes._views import bundle_ref, notices_out, stored
from api.routes.reviews import open_review
from api.schemas import AccountDecisions, DecisionRequest, DecisionResponse, ProblemDetails, StoredDecision
from api.issued import issuing_bundle
from api.service import BundleRegistry, UnknownBundleError, compute, decision_inputs, make_record, reader_reasons
from explain.audit._audit import AuditRecord, canonical_json
from explain.audit._store import IdempotencyClaim, IdempotencyConflictError
from explain.printing import PAPERS, record_letter, render_pdf

router = APIRouter(prefix="/v1", tags=["decisions"], route_class=GuardedRoute)

_ERRORS = {401: {"model": ProblemDetails}, 403: {"model": ProblemDetails}, 422: {"model": ProblemDetails},
           429: {"model": ProblemDetails, "description": "Too many wrong keys lately from this address or for this key "
                 "id: retry after the Retry-After header's seconds (nothing was checked)."},
           503: {"model": ProblemDetails, "description": "The database does not answer (or the service cannot render "
                 "yet). Retry after the Retry-After header's seconds, with the same Idempotency-Key."}}


def _bundle_for_request(bundles: BundleRegistry, name: str):  # noqa: ANN202
    try:
        return bundles.get(name)
    except UnknownBundleError as exc:
        raise Problem(422, "unknown-bundle", "Unknown bundle", str(exc),
                      errors=[{"field": "bundle", "message": str(exc), "expected": f"one of {', '.join(exc.loaded)}"}]) from None


def _idempotent_replay(status: int, body: str) -> Response:
    return Response(content=body, status_code=status, media_type="application/json",
                    headers={"Idempotent-Replayed": "true"})


@router.post(
    "/decisions",
    status_code=201,
    response_model=DecisionResponse,
    responses={**_ERRORS, 413: {"model": ProblemDetails}},
    summary="Explain, notify and record a limit decision",
)
def create_decision(
    request: Request,
    body: DecisionRequest,
    caller: IssuerDep,
    store: StoreDep,
    bundles: BundlesDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=NO_CONTROL,
                                                  description="Retry-safe: the same key returns the first response.")] = None,
) -> Response:
    """Score the account, choose the principal reasons, render the notices and append the audit record, in
    one transaction. With an ``Idempotency-Key`` a retry gets the first response, byte for byte, and no second
    notice is issued."""
    claim = None
    if idempotency_key is not None:
        request_sha = hashlib.sha256(canonical_json(body.model_dump(mode="json")).encode("utf-8")).hexdigest()
        claim = IdempotencyClaim(caller=caller.key_id, key=idempotency_key, request_sha256=request_sha)
        seen = store.idempotent_response(caller.key_id, idempotency_key)
        if seen is not None:
            if seen.request_sha256 != request_sha:
                raise IdempotencyConflictError(idempotency_key)
            return _idempotent_replay(seen.status_code, seen.body)

    bundle = _bundle_for_request(bundles, body.bundle)
    inputs = decision_inputs(
        account_ref=body.account_ref,
        bundle=bundle.name,
        features=body.features,
        decision=body.decision.value,
        old_limit=body.old_limit,
        new_limit=body.new_limit,
        currency=body.currency or bundle.profile.currency,
        effective_date=body.effective_date,
        notice_date=body.notice_date,
        review_date=body.review_date,
        policy_reasons=body.policy_reasons,
        locales=body.locales or settings.default_locales,
        channels=body.channels,
        bureau=body.bureau.model_dump(mode="json") if body.bureau is not None else None,
        recourse_target=body.recourse_target,
        mailing_address=body.mailing_address,
    )
    with request.app.state.compute_slots:
        computation = compute(bundle, inputs)
    draft = make_record(bundle, inputs, computation, issuer=caller)
    if computation.recourse is not None:  # the time is recorded here; the record keeps the deterministic work count
        metrics.recourse_seconds.labels(computation.recourse.status).observe(computation.recourse.elapsed_ms / 1000)

    def respond(record: AuditRecord) -> tuple[int, str]:
        response = DecisionResponse(
            decision_id=record.decision_id,
            seq=record.seq,
            created_at=record.created_at,
            account_ref=record.account_ref,
            record_hash=record.record_hash,
            bundle=bundle_ref(bundle),
            decision=body.decision,
            score=record.score,
            margin=record.margin,
            base_value=record.base_value,
            method=record.method,
            reasons=record.reasons,
            excluded=record.excluded,
            group_contributions=record.group_contributions,
            notices=notices_out(record.notices, inputs["channels"], inputs["locales"], computation.hashes),
            recourse=record.recourse,
        )
        return 201, response.model_dump_json()

    appended = store.append(draft, idempotency=claim, respond=respond)
    if appended.replayed:
        return _idempotent_replay(appended.response.status_code, appended.response.body)
    if appended.response is not None:
        status, text = appended.response.status_code, appended.response.body
    else:
        status, text = respond(appended.record)
    for locale in inputs["locales"]:
        for channel in inputs["channels"]:
            metrics.notices.labels(inputs["decision"], locale, channel).inc()
    return Response(content=text, status_code=status, media_type="application/json",
                    headers={"Location": f"/v1/decisions/{appended.record.decision_id}"})


def _reader(bundles: BundleRegistry, record: AuditRecord, locale: str | None) -> dict | None:
    if locale is None:
        return None
    try:
        bundle = bundles.get(record.bundle_name)
    except UnknownBundleError:
        bundle = None
    if bundle is None or bundle.catalog.sha256 != record.catalog_sha256:
        raise Problem(409, "catalog-not-loaded", "Catalog not loaded",
                      f"The reasons of {record.decision_id} come from catalog {record.catalog_sha256[:12]} of bundle "
                      f"{record.bundle_name!r}, which this service has not loaded; they cannot be re-phrased.")
    return reader_reasons(bundle, record, locale)


@router.get(
    "/decisions/{decision_id}",
    response_model=StoredDecision,
    responses={**_ERRORS, 404: {"model": ProblemDetails}, 409: {"model": ProblemDetails}},
    summary="A stored decision",
)
def get_decision(
    decision_id: DecisionIdPath,
    caller: AgentOrAuditorDep,
    store: StoreDep,
    bundles: BundlesDep,
    locale: LocaleQuery = None,
) -> StoredDecision:
    record = store.get(decision_id)
    if record is None or not caller.may_read(record):  # out of a scoped key's reach: as if it did not exist
        raise Problem(404, "decision-not-found", "Decision not found", f"There is no decision with id {decision_id!r}.")
    reader = _reader(bundles, record, locale)
    store.log_reads(caller, [record], via="api")  # who looked at which account, before it is shown
    view = stored(record, reader)
    review = open_review(store, record.decision_id)
    if review is not None:
        view.held = review.held
        view.review = {"review_id": review.review_id, "state": review.state.value, "due_date": review.due_date}
    return view


PaperQuery = Annotated[Literal[tuple(PAPERS)] | None, Query(  # type: ignore[valid-type]
    description="a4 or letter (default: the lender's jurisdiction's paper: US Letter in the US, A4 elsewhere).")]
PdfLocaleQuery = Annotated[str | None, Query(
    min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8}){0,2}$",
    description="Which of the decision's notices to print (default: the first locale it was issued in).",
    examples=["zh_CN"])]


@router.get(
    "/decisions/{decision_id}/notice.pdf",
    response_class=Response,
    responses={**_ERRORS, 404: {"model": ProblemDetails}, 409: {"model": ProblemDetails},
               200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                     "description": "The letter as issued, printed: the same bytes every time it is asked for."}},
    summary="A decision's letter as a printed PDF",
)
def get_notice_pdf(
    request: Request,
    decision_id: DecisionIdPath,
    caller: AgentOrAuditorDep,
    store: StoreDep,
    bundles: BundlesDep,
    locale: PdfLocaleQuery = None,
    paper: PaperQuery = None,
) -> Response:
    """The customer's letter for the post: the stored notice laid out on A4 or US Letter, the mailing address
    (when the decision was issued with one) in the envelope window. Read like the decision itself: logged."""
    record = store.get(decision_id)
    if record is None or not caller.may_read(record):  # out of a scoped key's reach: as if it did not exist
        raise Problem(404, "decision-not-found", "Decision not found", f"There is no decision with id {decision_id!r}.")
    bundle = issuing_bundle(bundles, record, needed_for="so the letter its lender profile signs cannot be printed as issued")
    letter = record_letter(record, profile=bundle.profile, locale=locale, paper=paper)  # bad locale: 422 here
    store.log_reads(caller, [record], via="api")  # who printed which account's letter, before it is served
    with request.app.state.compute_slots:
        pdf = render_pdf(letter)
    name = f"{record.decision_id}-{letter.locale}-{letter.paper.name}.pdf"
    return Response(content=pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get(
    "/accounts/{account_ref:path}/decisions",
    response_model=AccountDecisions,
    responses={**_ERRORS, 409: {"model": ProblemDetails}},
    summary="An account's decisions, newest first",
)
def list_account_decisions(
    account_ref: AccountRefPath,
    caller: AgentOrAuditorDep,
    store: StoreDep,
    bundles: BundlesDep,
    settings: SettingsDep,
    locale: LocaleQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AccountDecisions:
    records = store.list_by_account(account_ref, limit=min(limit, settings.max_page_size), offset=offset,
                                    issuers=caller.readable_issuers)
    decisions = [stored(r, _reader(bundles, r, locale)) for r in records]
    if records:
        store.log_reads(caller, records, via="api")
    else:  # an unknown account (or none of it in scope) is logged too: probing leaves a trace
        store.log_lookup(caller, account_ref, via="api")
    return AccountDecisions(account_ref=account_ref, decisions=decisions)
