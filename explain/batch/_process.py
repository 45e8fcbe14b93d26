"""One chunk of accounts in, one frame of notices (and error rows, and audit drafts) out.

The work is column-wise wherever it can be: the chunk's accounts are explained, grouped and given their
reasons in one call per (decision kind, policy reasons) pair, through the public
:meth:`~explain.Explainer.reasons`, so a faster kernel speeds up batches with no change here. Only the
notices are written one account at a time (a letter is text), by the process's
:class:`~explain.notices._skeletons.NoticeWriter`: each template runs once per shape of notice, and every
account of that shape is its skeleton joined with the account's values, byte for byte what
:func:`~explain.render_notice` writes.

A bad account never holds back the good ones: a call that fails on input is split in halves until the
failing rows are alone, and each becomes an error row naming the field and what was expected.

The result is a single frame (so a Dask partition can return it): output rows, one per account and locale;
error rows (``error`` set); and, when the audit is asked for, the draft record of each account as JSON in
the ``audit`` column of its first row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any

import pandas as pd

from explain.audit._audit import AuditRecord, canonical_json, notice_sha256
from explain._exceptions import ExplainError
from explain.reasons._reasons import Decision
from explain.batch._context import Context, Job, context
from explain.batch._inputs import ACCOUNT
from explain.batch._rows import bisected, error_field, typed_features

__all__ = ["RESULT_COLUMNS", "decision_id", "empty_result", "process_chunk"]

#: Columns of a chunk's result frame, in order; ``output_columns`` picks the ones the output file keeps.
RESULT_COLUMNS = (
    "row", "account", "decision_id", "decision", "old_limit", "new_limit", "currency", "score", "locale",
    "reason_codes", "reason_contributions", "excluded_codes", "reference", "template_version", "recourse",
    "subject", "text", "html", "short", "pdf", "error_field", "error", "audit",
)
_ID_NAMESPACE = uuid.UUID("6f1c2a4e-1d0b-5b8e-9a51-3c6f0e2d7b90")


def empty_result() -> pd.DataFrame:
    """A result frame with no rows and the right columns (Dask's ``meta``)."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in RESULT_COLUMNS})
    return frame.astype({"row": "int64", "old_limit": "float64", "new_limit": "float64", "score": "float64"})


def decision_id(bundle_sha256: str, inputs: dict[str, Any]) -> str:
    """The same id for the same decision on the same bundle: a resumed run recognises what it stored."""
    return str(uuid.uuid5(_ID_NAMESPACE, bundle_sha256 + canonical_json(inputs)))


def _recourse(ctx: Context, X: pd.DataFrame, position: Any, kind: Decision) -> Any:
    """What would change an adverse decision (explain.recourse), the same search the service runs; None for
    a favourable one or a catalog without actions."""
    if not kind.is_adverse or not ctx.bundle.catalog.recourse.enabled:
        return None
    account = ctx.bundle.explainer()._checked(X.loc[[position]])
    return ctx.bundle.recourse_solver().solve(account, kind.value)


def _render(ctx: Context, job: Job, reasons: Any, decision: dict[str, Any], account: str,
            recourse: Any = None) -> dict[str, Any]:
    notices = {}
    for locale in job.locales:
        notices[locale] = ctx.writer.render(
            decision["decision"], reasons, locale=locale, channel=job.channels[0], profile=ctx.profile,
            catalog=ctx.bundle.catalog, old_limit=float(decision["old_limit"]), new_limit=float(decision["new_limit"]),
            account_ref=account, currency=decision["currency"], notice_date=job.notice_date,
            bureau=decision.get("bureau"), recourse=recourse, review_date=_review_date(decision),
        )
    return notices


def _review_date(decision: dict[str, Any]) -> dt.date | None:
    """The decision's review date (an ISO text in the index); an empty cell is None, or NaN after alignment."""
    value = decision.get("review_date")
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


def _record(ctx: Context, job: Job, inputs: dict[str, Any], reasons: Any, notices: dict[str, Any],
            recourse: dict[str, Any] | None = None) -> AuditRecord:
    """The draft audit record, in the same shape the service stores (so ``/replay`` works on it)."""
    stored = {locale: json.loads(canonical_json(n.to_dict())) for locale, n in notices.items()}
    data = json.loads(canonical_json(reasons.to_dict()))
    versions = "\n".join(f"{loc}:{n['template_version']}" for loc, n in sorted(stored.items()))
    bundle = ctx.bundle
    return AuditRecord(
        decision_id=decision_id(bundle.sha256, inputs), created_at="", account_ref=inputs["account_ref"],
        decision=inputs["decision"], inputs=inputs, bundle_name=bundle.name, bundle_version=str(bundle.version),
        bundle_sha256=bundle.sha256, catalog_sha256=bundle.catalog.sha256,
        template_sha256=hashlib.sha256(versions.encode("utf-8")).hexdigest(),
        background_sha256=bundle.background_sha256, method=data["method"] if not data.get("mode")
        else f"{data['method']}:{data['mode']}", score=data["score"], margin=data["margin"],
        base_value=data["base_value"], group_contributions=data["group_contributions"], reasons=data["reasons"],
        excluded=data["excluded"], notice_hashes={loc: notice_sha256(n) for loc, n in stored.items()}, notices=stored,
        recourse=recourse,
    )


def process_chunk(chunk: pd.DataFrame, decisions: pd.DataFrame, job: Job, *, chunk_id: int = 0) -> pd.DataFrame:
    """Explain, choose reasons and write notices for ``chunk``'s accounts (rows aligned with ``decisions``);
    with ``job.pdf``, print the letters too (``chunk_id`` names a merged file)."""
    if len(chunk) == 0:
        return empty_result()
    ctx = context(job.bundle, job.trusted, job.profile, job.device)
    decisions = decisions.set_axis(chunk.index)
    X, problems = typed_features(chunk, ctx.explainer.feature_names, ctx.numeric)
    outcomes: dict[Any, Any] = {position: ExplainError(message) for position, (_, message) in problems.items()}
    fields = {position: field for position, (field, _) in problems.items()}
    clean = X.drop(index=list(problems))
    keys = decisions.loc[clean.index, "decision"].astype(str) + "|" + decisions.loc[clean.index, "policy_reasons"].map(";".join)
    for key, rows in clean.groupby(keys.to_numpy(), sort=True).groups.items():
        kind, _, policy = key.partition("|")
        policy_reasons = tuple(p for p in policy.split(";") if p)
        explain = lambda X_, kind=kind, policy_reasons=policy_reasons: ctx.explainer.reasons(  # noqa: E731
            X_, decision=kind, policy_reasons=policy_reasons)
        for position, outcome in bisected(explain, clean.loc[rows]):
            outcomes[position] = outcome
    out: list[dict[str, Any]] = []
    bundle_sha = ctx.bundle.sha256
    # Plain Python rows once per chunk: pandas element access per account would cost more than the notice.
    accounts = chunk[ACCOUNT].tolist()
    wanted = decisions.loc[:, [c for c in ("decision", "old_limit", "new_limit", "currency", "policy_reasons", "bureau",
                                           "mailing_address", "review_date") if c in decisions]]
    letters: list[tuple[int, str, Any, Any]] = []  # what --format pdf prints: row, locale, notice, address
    decided = wanted.to_dict(orient="records")
    features = X.astype(object).where(X.notna(), None).to_dict(orient="records")
    for k_row, position in enumerate(chunk.index):  # the file's order, whatever order the groups ran in
        account, decision, outcome = accounts[k_row], decided[k_row], outcomes[position]
        base = {"row": int(position), "account": account}
        if isinstance(outcome, ExplainError):
            out.append({**base, "error_field": fields.get(position) or error_field(outcome), "error": str(outcome)})
            continue
        kind = Decision.parse(decision["decision"])
        if kind.is_adverse and not outcome.reasons:
            out.append({**base, "error_field": "policy_reasons", "error": (
                f"the model found no material reason for a {kind.value} of this account; a customer must be told "
                "why, so give a policy reason")})
            continue
        try:
            recourse = _recourse(ctx, X, position, kind)
            notices = _render(ctx, job, outcome, decision, account, recourse)
        except ExplainError as exc:
            out.append({**base, "error_field": error_field(exc), "error": str(exc)})
            continue
        inputs = json.loads(canonical_json({
            "account_ref": account, "bundle": ctx.bundle.name, "features": features[k_row],
            "decision": kind.value, "old_limit": float(decision["old_limit"]), "new_limit": float(decision["new_limit"]),
            "currency": decision["currency"], "effective_date": None, "notice_date": job.notice_date.isoformat(),
            "policy_reasons": list(decision["policy_reasons"]), "locales": list(job.locales),
            "channels": list(job.channels),
            **({"bureau": decision["bureau"]} if decision.get("bureau") is not None else {}),
            **({"mailing_address": list(decision["mailing_address"])}
               if decision.get("mailing_address") is not None else {}),
            **({"review_date": _review_date(decision).isoformat()} if _review_date(decision) else {}),
        }))
        payload = None if recourse is None else json.loads(canonical_json(recourse.to_dict()))
        record = _record(ctx, job, inputs, outcome, notices, payload) if job.audit else None
        ident = record.decision_id if record else decision_id(bundle_sha, inputs)
        codes = [r.code for r in outcome.reasons]
        contributions = [r.contribution for r in outcome.reasons]
        excluded = [e.code for e in outcome.excluded]
        for k, (locale, notice) in enumerate(notices.items()):
            if job.pdf is not None:
                letters.append((int(position), locale, notice, decision.get("mailing_address")))
            out.append({
                **base, "decision_id": ident,
                "decision": kind.value, "old_limit": float(decision["old_limit"]),
                "new_limit": float(decision["new_limit"]), "currency": decision["currency"], "score": outcome.score,
                "locale": locale, "reason_codes": codes, "reason_contributions": contributions,
                "excluded_codes": excluded, "reference": notice.reference, "template_version": notice.template_version,
                "recourse": None if payload is None else canonical_json(payload),
                "subject": notice.subject, "text": notice.text, "html": notice.html, "short": notice.short,
                "audit": json.dumps(record.to_dict(), ensure_ascii=False) if record and k == 0 else None,
            })
    if job.pdf is not None:
        from explain.batch._printing import print_chunk

        files = print_chunk(job, ctx.profile, letters, chunk_id)
        for row in out:
            row["pdf"] = files.get((row["row"], row.get("locale")))
    result = pd.DataFrame(out, columns=list(RESULT_COLUMNS))
    # No recourse (a favourable decision, an error row) is None, never a float NaN, in this text column.
    result["recourse"] = result["recourse"].astype(object).where(result["recourse"].notna(), None)
    return result.astype({"row": "int64", "old_limit": "float64", "new_limit": "float64", "score": "float64"})
