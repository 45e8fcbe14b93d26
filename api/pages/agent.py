"""The agent lookup page at ``/agent``: a support agent (or auditor) signs in with their key, looks up a decision
by id or an account by reference, and reads why the limit changed, in their own language.

Security, in one place:

- the key is posted once, in a form body (never a URL), checked like an API key, and exchanged for a random
  session token in a cookie that is ``HttpOnly``, ``SameSite=Strict``, ``Path=/agent`` (and ``Secure`` over
  HTTPS or when ``EXPLAIN_PUBLIC_URL`` is https); the database keeps only the token's sha256, so any worker can
  serve the session and revoking the key ends it;
- wrong keys are throttled per address and key id like API keys (:mod:`api.throttle`: 429 with ``Retry-After``);
- every form post carries a CSRF token that must match the session's (the sign-in form: a one-off cookie);
  sign-out too, and it ends the session in the database before the cookie is dropped;
- paths and lookups are checked before the database sees them (no control characters; account references by
  :mod:`explain.notices._account_ref`), and an agent key's scope hides what it may not read;
- only ``agent``, ``auditor`` and ``reviewer`` keys may sign in (an ``issuer`` key gets 403);
- pages are sent with a strict Content-Security-Policy (no script at all, styles from ``/agent/assets``),
  ``no-store`` and ``no-referrer``;
- every decision shown is logged (who read which account, when) before it is shown.

The page is bilingual through the same gettext catalogs as the notices; the agent's language (``?lang=``,
remembered in a cookie) is independent of the language of the customer's notice.
"""

from __future__ import annotations

import functools
import datetime as dt
import hmac
import re
import secrets
import unicodedata
import urllib.parse
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from api.params import NO_CONTROL
from api.service import BundleRegistry, UnknownBundleError, reader_reasons
from api.throttle import AuthThrottle, subjects_for
from explain.notices._account_ref import account_ref_problem
from explain.audit._audit import AuditRecord
from explain.audit._charts import WaterfallStep, waterfall
from explain._exceptions import UnsupportedLocaleError
from explain.audit._html_env import html_environment, page_gettext
from explain.notices._locales import SUPPORTED_LOCALES, language_name, negotiate, page_lang
from explain.audit._store import AuditStore, Session

__all__ = ["router"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
SESSION_COOKIE = "explain_session"
SIGNIN_COOKIE = "explain_signin"
LANG_COOKIE = "explain_lang"
SESSION_SECONDS = 8 * 3600  # one working day
PAGE_ROLES = ("agent", "auditor", "reviewer")
MAX_FORM_BYTES = 8 * 1024
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")

_NO_CONTROL = re.compile(NO_CONTROL)

router = APIRouter(prefix="/agent", include_in_schema=False)


# ------------------------------------------------------------------------------------------------ helpers
def _locale(request: Request) -> str:
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate:
            try:
                return negotiate(candidate)
            except UnsupportedLocaleError:
                continue
    return "zh_CN"


def _secure(request: Request) -> bool:
    """Cookies are ``Secure`` over HTTPS, and whenever the configured public URL is https (TLS may end at a
    proxy whose address is not trusted for ``X-Forwarded-Proto``)."""
    return request.url.scheme == "https" or request.app.state.settings.public_https


def _harden(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    locale = _locale(request)
    env = html_environment(TEMPLATES, locale)
    others = [(code, page_lang(code), language_name(code)) for code in SUPPORTED_LOCALES if code != locale]
    here = request.url.path if request.method == "GET" else "/agent"
    html = env.get_template(template).render(
        locale=locale, lang=page_lang(locale), other_locales=others, here=here, **context)
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") and _locale(request) == locale:
        response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, path="/agent", httponly=True,
                            samesite="strict", secure=_secure(request))
    return _harden(response)  # type: ignore[return-value]


def _redirect(url: str) -> Response:
    return _harden(RedirectResponse(url, status_code=303))


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (first value of each field)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        pairs = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        return {}
    return {k: v[0] for k, v in pairs.items()}


def _store(request: Request) -> AuditStore:
    return request.app.state.store


async def _session(request: Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 128:
        return None
    session = await run_in_threadpool(_store(request).session, token)
    if session is None or session.caller.role not in PAGE_ROLES:
        return None
    return session


def _csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected.encode(), given.encode())


def _forbidden(request: Request, message: str) -> HTMLResponse:
    return _render(request, "error.html", status=403, session=None, title_key="forbidden", message=message)


# -------------------------------------------------------------------------------------------------- views
@router.get("/assets/agent.css")
def stylesheet() -> Response:
    css = (TEMPLATES / "agent.css").read_text(encoding="utf-8")
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600",
                                                         "X-Content-Type-Options": "nosniff"})


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    if await _session(request) is not None:
        return _redirect("/agent")
    return _sign_in_page(request)


def _sign_in_page(request: Request, *, status: int = 200, error: str | None = None,
                  seconds: int | None = None) -> HTMLResponse:
    csrf = secrets.token_urlsafe(32)
    response = _render(request, "sign_in.html", status=status, session=None, csrf=csrf, error=error, seconds=seconds)
    if seconds is not None:
        response.headers["Retry-After"] = str(seconds)
    response.set_cookie(SIGNIN_COOKIE, csrf, max_age=1800, path="/agent", httponly=True, samesite="strict",
                        secure=_secure(request))
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await _form(request)
    if not _csrf_ok(request.cookies.get(SIGNIN_COOKIE), form.get("csrf")):
        return _sign_in_page(request, status=400, error="expired")
    key = form.get("key", "").strip()
    # The same throttle as API keys (api.throttle): per address and key id, checked before the database.
    throttle: AuthThrottle | None = request.app.state.auth_throttle
    metrics = request.app.state.metrics
    subjects = subjects_for(request.client.host if request.client else None, key) if throttle else []
    retry_after = throttle.retry_after(subjects) if throttle is not None else None
    if retry_after is not None:
        metrics.auth_throttled.labels("page").inc()
        return _sign_in_page(request, status=429, error="throttled", seconds=retry_after)
    caller = await run_in_threadpool(_store(request).authenticate, key) if key else None
    if caller is None:
        metrics.auth_failures.labels("page").inc()
        if throttle is not None:
            throttle.failed(subjects)
        return _sign_in_page(request, status=401, error="invalid")
    if throttle is not None:
        throttle.succeeded(subjects)
    if caller.role not in PAGE_ROLES:
        return _forbidden(request, "role")
    token, _ = await run_in_threadpool(lambda: _store(request).create_session(caller, ttl_seconds=SESSION_SECONDS))
    response = _redirect("/agent")
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_SECONDS, path="/agent", httponly=True,
                        samesite="strict", secure=_secure(request))
    response.delete_cookie(SIGNIN_COOKIE, path="/agent")
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """Only with the session's CSRF token: a cross-site form can neither end the session nor drop its cookie.
    The session ends in the database too, so a copied cookie is worthless afterwards."""
    session = await _session(request)
    if session is None:
        return _redirect("/agent/sign-in")
    form = await _form(request)
    if not _csrf_ok(session.csrf_token, form.get("csrf")):
        return _forbidden(request, "csrf")
    await run_in_threadpool(_store(request).end_session, request.cookies[SESSION_COOKIE])
    response = _redirect("/agent/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/agent", httponly=True, samesite="strict", secure=_secure(request))
    return response


@router.get("")
async def home(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _redirect("/agent/sign-in")
    return _render(request, "lookup.html", session=session, query="", error=None)


@router.post("/lookup")
async def lookup(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _redirect("/agent/sign-in")
    form = await _form(request)
    if not _csrf_ok(session.csrf_token, form.get("csrf")):
        return _forbidden(request, "csrf")
    query = unicodedata.normalize("NFC", form.get("q", "").strip(" \t"))
    if not query or len(query) > 128:
        return _render(request, "lookup.html", status=422, session=session, query=query[:128], error="empty")
    record = await run_in_threadpool(_store(request).get, query) if len(query) == 36 and _plain(query) else None
    if record is not None and session.caller.may_read(record):
        return _redirect(f"/agent/decisions/{urllib.parse.quote(record.decision_id, safe='')}")
    problem = account_ref_problem(query)
    if problem is not None:
        return _invalid_reference(request, session, problem)
    return _redirect(f"/agent/accounts/{urllib.parse.quote(query, safe='')}")


def _plain(text: str) -> bool:
    """No control character (NUL included): the database is never asked about such a text."""
    return _NO_CONTROL.fullmatch(text) is not None


def _invalid_reference(request: Request, session: Session, problem: str) -> HTMLResponse:
    """The account reference rule (:mod:`explain.notices._account_ref`) refused the text: 422, naming the code point."""
    return _render(request, "lookup.html", status=422, session=session, query="", error="invalid", problem=problem)


@router.get("/accounts/{account_ref:path}")
async def account(request: Request, account_ref: str) -> Response:
    session = await _session(request)
    if session is None:
        return _redirect("/agent/sign-in")
    if len(account_ref) > 128:
        return _render(request, "lookup.html", status=422, session=session, query="", error="empty")
    account_ref = unicodedata.normalize("NFC", account_ref)
    problem = account_ref_problem(account_ref)
    if problem is not None:
        return _invalid_reference(request, session, problem)
    store = _store(request)
    records = await run_in_threadpool(lambda: store.list_by_account(account_ref, limit=100,
                                                                    issuers=session.caller.readable_issuers))
    if records:
        await run_in_threadpool(store.log_reads, session.caller, records, via="page")
    else:  # an unknown account (or none of it in the key's scope) is logged like any other read
        await run_in_threadpool(lambda: store.log_lookup(session.caller, account_ref, via="page"))
    locale = _locale(request)
    rows = [{"record": r, "when": _when(r.created_at, locale), "kind": r.decision,
             "old": _money(r.inputs.get("old_limit"), r.inputs.get("currency", "CNY"), locale),
             "new": _money(r.inputs.get("new_limit"), r.inputs.get("currency", "CNY"), locale),
             "href": f"/agent/decisions/{urllib.parse.quote(r.decision_id, safe='')}"} for r in records]
    return _render(request, "account.html", status=200 if records else 404, session=session,
                   account_ref=account_ref, rows=rows)


@router.get("/decisions/{decision_id}")
async def decision(request: Request, decision_id: str) -> Response:
    session = await _session(request)
    if session is None:
        return _redirect("/agent/sign-in")
    store = _store(request)
    known = len(decision_id) <= 64 and _plain(decision_id)
    record = await run_in_threadpool(store.get, decision_id) if known else None
    if record is None or not session.caller.may_read(record):
        query = decision_id[:64] if known else ""
        return _render(request, "lookup.html", status=404, session=session, query=query, error="not-found")
    locale = _locale(request)
    view = _decision_view(request.app.state.bundles, record, locale)
    await run_in_threadpool(store.log_reads, session.caller, [record], via="page")
    from api.routes.reviews import open_review  # the review stage's routes, imported when first needed

    review = await run_in_threadpool(open_review, store, record.decision_id)
    return _render(request, "decision.html", session=session, record=record, open_review=review, **view)


# ---------------------------------------------------------------------------------------- decision view
def _money(amount: Any, currency: str, locale: str) -> str:
    if amount is None:
        return "–"
    return format_currency(amount, currency, locale=locale)


def _when(stamp: str, locale: str) -> str:
    return format_datetime(dt.datetime.fromisoformat(stamp), format="medium", tzinfo=dt.UTC, locale=locale)


def _day(iso: str | None, locale: str) -> str | None:
    """A stored ISO date (a suspension's review date) in the agent's language; None when there is none."""
    return format_date(dt.date.fromisoformat(iso), format="long", locale=locale) if iso else None


def _recourse_view(record: AuditRecord, catalog: Any, locale: str, currency: str) -> dict[str, Any] | None:
    """The recorded recourse in the agent's language: each verified suggestion's sentence and score, or the
    certificate's best reachable score when there is none."""
    from explain.recourse import Recourse
    from explain.recourse._wording import recourse_lines

    if record.recourse is None:
        return None
    recourse = Recourse.from_dict(record.recourse)

    def score(value: float | None) -> str:
        if value is None:
            return ""
        if 0 <= value <= 1:
            return format_percent(value, format="#,##0.0%", locale=locale)
        return format_decimal(value, format="#,##0.000", locale=locale)

    lines = recourse_lines(recourse, locale=locale, catalog=catalog, currency=currency) if catalog is not None else []
    return {
        "status": recourse.status,
        "target": score(recourse.target),
        "suggestions": [{"text": text, "score": score(s.score)} for text, s in zip(lines, recourse.suggestions, strict=True)],
        "best": score(recourse.certificate.best_score) if recourse.certificate is not None else None,
        "review": recourse.needs_review,
    }


def _decision_view(bundles: BundleRegistry, record: AuditRecord, locale: str) -> dict[str, Any]:
    """Everything the decision page shows, phrased in the agent's ``locale``."""
    try:
        bundle = bundles.get(record.bundle_name)
    except UnknownBundleError:
        bundle = None
    catalog = bundle.catalog if bundle is not None and bundle.catalog.sha256 == record.catalog_sha256 else None
    reasons = reader_reasons(bundle, record, locale)["reasons"] if catalog is not None else []
    for phrased, stored in zip(reasons, record.reasons, strict=False):
        phrased["counter_intuitive"] = bool(stored.get("counter_intuitive", False))

    def label(code: str) -> str:
        if catalog is not None and code in catalog.groups:
            return catalog.phrase(f"groups:{code}:label", catalog.groups[code].label, locale=locale)
        return code

    gettext = functools.partial(page_gettext, locale)
    protected = {c for c in record.group_contributions if catalog is not None and catalog.groups.get(c) is not None
                 and catalog.groups[c].protected}
    ordered = sorted(record.group_contributions.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
    steps = [WaterfallStep(label(code), value, excluded=code in protected,
                           note=gettext("(protected: excluded)") if code in protected else "")
             for code, value in ordered]

    def fmt(v: float) -> str:
        return format_decimal(v, format="#,##0.000", locale=locale)

    risk_up = bundle is None or bundle.higher_is == "risk"
    chart_args = dict(
        base_label=gettext("Average account (base value)"), base_value=record.base_value, steps=steps,
        total_label=gettext("This account's score"), total_value=record.margin,
        title=gettext("How each factor moved this account's score"),
        description=gettext("From the average account's score, each reason group's contribution in turn, to this "
                            "account's score. Red pushed toward risk, green away from it; protected groups are "
                            "hatched grey and are never given as reasons."),
        fmt=fmt, risk_up=risk_up)
    # two layouts of one chart: CSS shows the wide one on laptops, the compact one on phones
    chart = waterfall(**chart_args) + waterfall(**chart_args, compact=True)
    currency = record.inputs.get("currency", "CNY")
    notices = []
    for code in record.inputs.get("locales", sorted(record.notices)):
        notice = record.notices.get(code)
        if notice is not None:
            notices.append({"locale": code, "lang": page_lang(code), "name": language_name(code), "notice": notice})
    return {
        "reasons": reasons,
        "recourse": _recourse_view(record, catalog, locale, currency),
        "catalog_loaded": catalog is not None,
        "chart": Markup(chart),
        "contributions": [{"label": label(c), "value": fmt(v), "protected": c in protected} for c, v in ordered],
        "base_value": fmt(record.base_value),
        "margin": fmt(record.margin),
        "score": format_percent(record.score, format="#,##0.0%", locale=locale) if 0 <= record.score <= 1 else fmt(record.score),
        "old_limit": _money(record.inputs.get("old_limit"), currency, locale),
        "new_limit": _money(record.inputs.get("new_limit"), currency, locale),
        "review_date": _day(record.inputs.get("review_date"), locale),
        "when": _when(record.created_at, locale),
        "notices": notices,
        "channels": record.inputs.get("channels", []),
        "excluded": [{"label": label(e["code"]), "rank": e.get("would_rank")} for e in record.excluded],
        "account_href": f"/agent/accounts/{urllib.parse.quote(record.account_ref, safe='')}",
    }
