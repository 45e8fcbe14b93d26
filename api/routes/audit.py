"""For auditors: export the trail, verify its hash chain, replay a record; a decision's receipt (any role).

Every read goes on the Merkle log like a single read (``access_log`` rows, each with its log entry): an
export logs each chunk of records before it is sent, the report logs every record it covers, a replay its
record.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse

from api.auditlog import get_log
from api.deps import AuditorDep, BundlesDep, CallerDep, StoreDep
from api.routing import GuardedRoute
from api.params import DecisionIdPath, IsoDateTime, LocaleQuery
from api.problems import Problem
from api.routes.decisions import _ERRORS
from api.schemas import ProblemDetails, ReplayResponse, VerifyResponse
from api.service import replay
from explain._spreadsheet import neutralise_cell
from explain.audit._audit import AuditRecord, canonical_json
from explain.notices._locales import negotiate
from explain.audit._report import render_report, report_from_store
from explain.audit._log import AuditLog, NotIntegratedError
from explain.audit._reads import ReadLoggingStore, logged_reads
from explain.audit._store import utc_timestamp

router = APIRouter(prefix="/v1", tags=["audit"], route_class=GuardedRoute)

CSV_COLUMNS = (
    "seq", "decision_id", "created_at", "account_ref", "decision", "bundle_name", "bundle_version", "bundle_sha256",
    "catalog_sha256", "template_sha256", "background_sha256", "method", "score", "margin", "base_value",
    "inputs", "group_contributions", "reasons", "excluded", "notice_hashes", "prev_hash", "record_hash",
    "issuer_key_id", "issuer_key_name",
)
_JSON_COLUMNS = {"inputs", "group_contributions", "reasons", "excluded", "notice_hashes"}


def _utc(value: dt.datetime | None, field: str) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # a bare timestamp is read as UTC, like everything stored
    return utc_timestamp(value)


def _jsonl(records: Iterator[AuditRecord]) -> Iterator[bytes]:
    for record in records:
        yield (canonical_json(record.to_dict()) + "\n").encode("utf-8")


def _csv(records: Iterator[AuditRecord]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for i, record in enumerate(records, start=1):
        writer.writerow([canonical_json(getattr(record, c)) if c in _JSON_COLUMNS
                         else neutralise_cell(getattr(record, c)) for c in CSV_COLUMNS])
        if i % 100 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


@router.get(
    "/audit/export",
    responses={**_ERRORS, 200: {"content": {"application/x-ndjson": {"example": '{"seq":1,...}\n'},
                                            "text/csv": {"example": "seq,decision_id,...\n"}},
                                "description": "The records in chain order, streamed."}},
    response_class=StreamingResponse,
    summary="Export the audit trail (JSON lines or CSV), streamed",
)
def export(
    caller: AuditorDep,
    store: StoreDep,
    since: Annotated[IsoDateTime | None, Query(description="Inclusive, ISO 8601 (UTC when no offset).",
                                               examples=["2026-11-01T00:00:00Z"])] = None,
    until: Annotated[IsoDateTime | None, Query(description="Exclusive, ISO 8601.", examples=["2026-12-01T00:00:00Z"])] = None,
    format: Annotated[Literal["jsonl", "csv"], Query(description="jsonl (default) or csv.")] = "jsonl",  # noqa: A002
) -> StreamingResponse:
    since_s, until_s = _utc(since, "since"), _utc(until, "until")
    if since_s and until_s and until_s <= since_s:
        raise Problem(422, "invalid-request", "Invalid request", "'until' must be after 'since'.",
                      errors=[{"field": "until", "message": "not after 'since'", "expected": f"after {since_s}"}])
    records = logged_reads(store, caller, store.iter_records(since=since_s, until=until_s), via="export")
    # Read the first batch now: a database outage is then a 503 before any byte is sent, not a cut stream.
    records = itertools.chain(list(itertools.islice(records, 1)), records)
    if format == "csv":
        return StreamingResponse(_csv(records), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
    return StreamingResponse(_jsonl(records), media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'})


@router.get("/audit/verify", response_model=VerifyResponse, response_model_exclude_none=True, responses=_ERRORS,
            summary="Walk the hash chain")
def verify(caller: AuditorDep, store: StoreDep) -> VerifyResponse:
    """``ok: true`` when every record fits; otherwise the first record that breaks the chain and why."""
    return VerifyResponse(**store.verify().to_dict())


@router.post(
    "/decisions/{decision_id}/replay",
    response_model=ReplayResponse,
    response_model_exclude_none=True,
    responses={**_ERRORS, 404: {"model": ProblemDetails}},
    summary="Recompute a record and compare it byte for byte",
)
def replay_decision(
    decision_id: DecisionIdPath, caller: AuditorDep, store: StoreDep, bundles: BundlesDep,
    pdf: Annotated[bool, Query(description="Also print each letter from the stored and the recomputed notice and "
                                           "compare the PDFs (slower: seconds per locale).")] = False,
) -> ReplayResponse:
    record = store.get(decision_id)
    if record is None:
        raise Problem(404, "decision-not-found", "Decision not found", f"There is no decision with id {decision_id!r}.")
    store.log_reads(caller, [record], via="replay")
    return ReplayResponse(**replay(bundles, record, logged_leaf_hash=store.logged_leaf_hash(decision_id), pdf=pdf))


@router.get(
    "/audit/report",
    responses={**_ERRORS, 200: {"content": {"text/html": {"example": "<!DOCTYPE html>..."},
                                            "application/json": {"example": {"total": 500}}},
                                "description": "The compliance report: one self-contained HTML page, or its figures."}},
    response_class=HTMLResponse,
    summary="The compliance report of a period (HTML, or JSON figures)",
)
def compliance_report(
    caller: AuditorDep,
    store: StoreDep,
    bundles: BundlesDep,
    since: Annotated[IsoDateTime | None, Query(description="Inclusive, ISO 8601 (UTC when no offset).",
                                               examples=["2026-11-01T00:00:00Z"])] = None,
    until: Annotated[IsoDateTime | None, Query(description="Exclusive, ISO 8601.", examples=["2026-12-01T00:00:00Z"])] = None,
    locale: LocaleQuery = None,
    format: Annotated[Literal["html", "json"], Query(description="html (default) or json.")] = "html",  # noqa: A002
    sample: Annotated[int, Query(ge=0, le=1000, description="Records to replay (a seeded random sample).")] = 20,
    seed: Annotated[int, Query(ge=0, le=2**31 - 1, description="Seed of the replay sample.")] = 0,
) -> Response:
    """Decisions by kind and month, principal reasons, the protected groups' share of the attribution,
    counter-intuitive reasons, additivity failures, the hash chain, a replay sample and who issued and read
    decisions. The same figures as JSON with ``format=json``, for monitoring."""
    since_s, until_s = _utc(since, "since"), _utc(until, "until")
    if since_s and until_s and until_s <= since_s:
        raise Problem(422, "invalid-request", "Invalid request", "'until' must be after 'since'.",
                      errors=[{"field": "until", "message": "not after 'since'", "expected": f"after {since_s}"}])
    figures = report_from_store(ReadLoggingStore(store, caller), bundles=list(bundles), since=since_s, until=until_s, sample_size=sample, seed=seed)
    if format == "json":
        return JSONResponse(figures.to_dict())
    catalog = next(iter(bundles)).catalog if len(bundles) else None
    return HTMLResponse(render_report(figures, locale=negotiate(locale or "zh_CN"), catalog=catalog))


LogDep = Annotated[AuditLog, Depends(get_log)]


@router.get(
    "/decisions/{decision_id}/proof",
    responses={**_ERRORS, 404: {"model": ProblemDetails},
               409: {"model": ProblemDetails, "description": "Stored, not yet in a signed checkpoint: retry shortly."},
               200: {"description": "The receipt: the decision's leaf, its inclusion proof and the signed checkpoint."}},
    summary="A decision's receipt: its inclusion proof in the signed log",
)
def decision_proof(decision_id: DecisionIdPath, caller: CallerDep, store: StoreDep, log: LogDep) -> JSONResponse:
    """What a notice's receipt is: the leaf (decision id, record hash, notice hashes), its RFC 9162 inclusion
    proof and the C2SP checkpoint that covers it, checkable offline with ``explain audit verify-receipt``."""
    try:
        receipt = log.receipt(decision_id)
    except NotIntegratedError as exc:
        raise Problem(409, "receipt-pending", "Receipt pending", str(exc), headers={"Retry-After": "1"}) from None
    except LookupError:
        raise Problem(404, "decision-not-found", "Decision not found", f"There is no decision with id {decision_id!r}.") from None
    if caller.role != "issuer":
        record = store.get(decision_id)
        if record is not None:
            store.log_reads(caller, [record], via="proof")
    return JSONResponse({"decision_id": decision_id, "log_public_key": log.verifier.vkey(), **receipt.to_dict()})


@router.get("/audit/checkpoint", response_class=PlainTextResponse, responses={**_ERRORS, 404: {"model": ProblemDetails}},
            summary="The newest signed checkpoint, to keep outside the database")
def audit_checkpoint(caller: AuditorDep, log: LogDep) -> PlainTextResponse:
    checkpoint = log.latest()
    if checkpoint is None:
        raise Problem(404, "log-empty", "No checkpoint yet", "The log has not signed a checkpoint yet.")
    return PlainTextResponse(checkpoint.note)
