"""The review queue and review pages of the agent site (``/agent/reviews``): agents triage and add notes,
reviewers decide with a written rationale, a second reviewer confirms or rejects an overturn above the
profile's threshold. Same sign-in, session, CSRF, strict CSP and read logging as :mod:`api.pages.agent`.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any

from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.pages.agent import (_csrf_ok, _decision_view, _form, _forbidden, _locale, _money, _redirect, _render,
                             _session, _store, _when)
from explain._exceptions import InvalidInputError
from explain.notices._locales import page_lang
from explain.review import (ACTION_ROLES, OUTCOME_REASONS, Action, ReviewError, ReviewForbiddenError, ReviewStore,
                            State, TransitionError, act)

__all__ = ["router"]

router = APIRouter(prefix="/agent/reviews", include_in_schema=False)
_STATES = tuple(s.value for s in State)


def _href(review_id: str) -> str:
    return f"/agent/reviews/{urllib.parse.quote(review_id, safe='')}"


@router.get("")
async def queue(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _redirect("/agent/sign-in")
    state = request.query_params.get("state") or None
    due = request.query_params.get("due_before") or None
    try:
        due_before = dt.date.fromisoformat(due) if due else None
    except ValueError:
        due_before, due = None, None
    if state not in (None, *_STATES):
        state = None
    today = dt.datetime.now(dt.UTC).date()
    reviews = ReviewStore(_store(request))
    found = await run_in_threadpool(reviews.queue, today=today, state=state, due_before=due_before, limit=200)
    overdue = await run_in_threadpool(reviews.overdue_count, today)
    request.app.state.metrics.reviews_overdue.set(overdue)
    locale = _locale(request)
    rows = [{"review": r, "href": _href(r.review_id), "overdue": r.overdue(today),
             "requested": _when(r.requested_at, locale), "held": r.held and r.state.value in ("requested", "in_review")}
            for r in found]
    return _render(request, "reviews.html", session=session, rows=rows, states=_STATES, state=state or "",
                   due_before=due or "", overdue=overdue)


def _review_view(request: Request, review: Any, record: Any, locale: str) -> dict[str, Any]:
    currency = record.inputs.get("currency", "CNY")
    events = []
    for e in review.events:
        body = e.body
        events.append({"event": e, "when": _when(e.at, locale), "text": body.get("rationale") or body.get("note")
                       or body.get("statement") or "",
                       "reasons": body.get("outcome_reasons")
                       or (body.get("outcome") or {}).get("outcome_reasons") or [],
                       "new_limit": _money(body["new_decision"]["new_limit"], currency, locale)
                       if body.get("new_decision") else None})
    outcome_notices = []
    for e in review.events:
        for code in record.inputs.get("locales", []):
            notice = e.body.get("notices", {}).get(code)
            if notice is not None:
                outcome_notices.append({"locale": code, "lang": page_lang(code),
                                        "notice": notice})
    what_ifs = [{"when": _when(e.at, locale), "score": format_decimal(e.body["score"], format="0.000", locale=locale),
                 "reasons": [r["code"] for r in e.body["reasons"]],
                 "facts": e.body["facts"]} for e in review.events if e.action == "what_if"]
    request_body = review.request.body
    return {"review": review, "events": events, "statement": request_body.get("statement", ""),
            "facts": request_body.get("facts") or {}, "outcome_notices": outcome_notices, "what_ifs": what_ifs,
            "reasons_upheld": OUTCOME_REASONS["upheld"], "reasons_overturned": OUTCOME_REASONS["overturned"],
            "due": review.due_date, "overdue": review.overdue(dt.datetime.now(dt.UTC).date()),
            "held": review.held and review.state.value in ("requested", "in_review"),
            "allowed": [a.value for a in review.allowed],
            "decision_href": f"/agent/decisions/{urllib.parse.quote(record.decision_id, safe='')}"}


def _page_error(exc: Exception) -> dict[str, Any]:
    """What the page tells the agent about a refused step, as a code and its values (worded in the page's
    language by the template), never the English of the exception."""
    if isinstance(exc, TransitionError):
        return {"code": "transition", "state": exc.state, "allowed": list(exc.allowed)}
    if isinstance(exc, ReviewForbiddenError):
        if exc.case == "role":
            return {"code": "role", "roles": list(ACTION_ROLES.get(Action(exc.action), ()))}
        return {"code": "four-eyes-second" if exc.case == "second_look" else "four-eyes-issuer"}
    field = str(getattr(exc, "field", ""))
    if field in ("rationale", "outcome_reasons", "new_limit", "action"):
        return {"code": field}
    return {"code": "other", "field": field}


async def _show(request: Request, review_id: str, *, status: int = 200,
                error: dict[str, Any] | None = None) -> Response:
    session = await _session(request)
    if session is None:
        return _redirect("/agent/sign-in")
    store = _store(request)
    review = await run_in_threadpool(ReviewStore(store).get, review_id) if len(review_id) <= 64 else None
    if review is None:
        return _render(request, "lookup.html", status=404, session=session, query=review_id[:64], error="not-found")
    record = await run_in_threadpool(store.get, review.decision_id)
    locale = _locale(request)
    view = _decision_view(request.app.state.bundles, record, locale)
    await run_in_threadpool(store.log_reads, session.caller, [record], via="page")
    return _render(request, "review.html", status=status, session=session, record=record, error=error,
                   **view, **_review_view(request, review, record, locale))


@router.get("/{review_id}")
async def review_page(request: Request, review_id: str) -> Response:
    return await _show(request, review_id)


@router.post("/{review_id}/act")
async def review_act(request: Request, review_id: str) -> Response:
    session = await _session(request)
    if session is None:
        return _redirect("/agent/sign-in")
    form = await _form(request)
    if not _csrf_ok(session.csrf_token, form.get("csrf")):
        return _forbidden(request, "csrf")
    store = _store(request)
    review = await run_in_threadpool(ReviewStore(store).get, review_id) if len(review_id) <= 64 else None
    if review is None:
        return await _show(request, review_id)
    record = await run_in_threadpool(store.get, review.decision_id)
    try:
        bundle = request.app.state.bundles.get(record.bundle_name)
    except KeyError:
        return await _show(request, review_id, status=409, error={"code": "bundle"})
    action = form.get("action", "")
    reasons = [code for code in (*OUTCOME_REASONS["upheld"], *OUTCOME_REASONS["overturned"]) if form.get(f"r_{code}")]
    new_limit: Any = None
    if form.get("new_limit", "").strip():
        try:
            new_limit = float(form["new_limit"].replace(",", ""))
        except ValueError:
            new_limit = form["new_limit"]
    rationale = form.get("rationale", "").strip() or None

    def run() -> Any:
        with request.app.state.compute_slots:
            return act(ReviewStore(store), review_id, action, caller=session.caller, record=record, bundle=bundle,
                       rationale=rationale, outcome_reasons=reasons, new_limit=new_limit)

    try:
        await run_in_threadpool(run)
    except ReviewError as exc:
        status = 403 if isinstance(exc, PermissionError) else 409
        return await _show(request, review_id, status=status, error=_page_error(exc))
    except InvalidInputError as exc:
        return await _show(request, review_id, status=422, error=_page_error(exc))
    request.app.state.metrics.review_events.labels(action).inc()
    return _redirect(_href(review_id))
