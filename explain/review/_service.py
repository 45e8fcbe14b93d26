"""Reviews as the lender runs them: asking, triaging, deciding, confirming, with every rule checked here.

The API and the agent page call these; they take the decision's :class:`~explain.audit._audit.AuditRecord`
and its bundle (for the lender's profile, its catalog and its model), check roles, the state machine, the
review window, four eyes and the second-reviewer threshold, compute what the action adds (a what-if, the
outcome notices) and write one event through :class:`~explain.review._store.ReviewStore`.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from explain._bundle import ModelBundle
from explain.audit._audit import AuditRecord
from explain.audit._replay import analyse, reasons_payload
from explain.audit._store import Caller, IdempotencyClaim, utc_timestamp
from explain.review._errors import (ReviewForbiddenError, ReviewInputError, ReviewNotFoundError,
                                    ReviewWindowClosedError, TransitionError)
from explain.review._outcome import check_outcome_reasons, outcome_reference, render_outcome_notices
from explain.review._policy import ReviewPolicy
from explain.review._records import Review
from explain.review._store import Opened, ReviewStore
from explain.review._workflow import ACTION_ROLES, Action, next_state

__all__ = ["REQUEST_CHANNELS", "HELD_DECISIONS", "act", "replay_review", "request_review"]

#: How the customer's request reached the lender.
REQUEST_CHANNELS = ("phone", "email", "branch", "app", "web", "letter")
#: Decisions whose change a pending review can hold (the profile's ``holds_decision``); a suspension of increases
#: is held too when it also lowers the limit (:func:`_held_kind`), the part that takes effect on a date.
HELD_DECISIONS = ("limit_decrease", "account_closure")
_MAX_TEXT = 4000


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now(dt.UTC)


def _text(value: Any, field: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT:
        raise ReviewInputError(field, f"a written text of 1 to {_MAX_TEXT} characters", value)
    return value.strip()


def _check_role(action: Action, caller: Caller) -> None:
    roles = ACTION_ROLES[action]
    if caller.role not in roles:
        raise ReviewForbiddenError(action.value, "role", f"this needs the role {' or '.join(map(repr, roles))}; "
                                                         f"the key has the role {caller.role!r}")


def _facts(bundle: ModelBundle, facts: Mapping[str, Any] | None) -> dict[str, Any]:
    facts = dict(facts or {})
    known = set(bundle.feature_names)
    for name, value in facts.items():
        if name not in known:
            raise ReviewInputError(f"facts.{name}", f"a feature of bundle {bundle.name!r}", name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ReviewInputError(f"facts.{name}", "a finite value", value)
    return facts


def request_review(reviews: ReviewStore, record: AuditRecord, bundle: ModelBundle, *, caller: Caller,
                   statement: str, facts: Mapping[str, Any] | None = None, channel: str,
                   now: dt.datetime | None = None, idempotency: IdempotencyClaim | None = None,
                   respond: Any = None) -> Opened:
    """Open a review of ``record`` for the customer (``caller`` is the issuer acting for its channel).

    Refused after the profile's review window (:class:`ReviewWindowClosedError`) and while another review of
    the same decision is open (:class:`~explain.review._errors.ReviewOpenError`).
    """
    _check_role(Action.REQUEST, caller)
    statement = _text(statement, "statement")
    if channel not in REQUEST_CHANNELS:
        raise ReviewInputError("channel", f"one of {', '.join(REQUEST_CHANNELS)}", channel)
    facts = _facts(bundle, facts)
    policy = ReviewPolicy.from_profile(bundle.profile)
    moment = _now(now)
    today = moment.astimezone(dt.UTC).date()
    notice_date = dt.date.fromisoformat(record.inputs["notice_date"])
    if today > policy.last_day(notice_date):
        raise ReviewWindowClosedError(record.decision_id, notice_date, policy.window_days, today)
    held = policy.holds_decision and _held_kind(record)
    body = {"statement": statement, "facts": facts, "channel": channel, "notice_date": notice_date.isoformat(),
            "window_last_day": policy.last_day(notice_date).isoformat(), "reply_days": policy.reply_days,
            "held": held}
    return reviews.open(review_id=str(uuid.uuid4()), decision_id=record.decision_id, account_ref=record.account_ref,
                        jurisdiction=policy.jurisdiction, due_date=policy.due_date(today), held=held, caller=caller,
                        body=body, at=utc_timestamp(moment), idempotency=idempotency, respond=respond)


def _held_kind(record: AuditRecord) -> bool:
    """Whether a pending review holds this decision's change: a decrease, a closure, or a suspension of
    increases that lowers the limit (one that keeps it changes nothing on a date)."""
    if record.decision == "increases_suspended":
        return Decimal(str(record.inputs["new_limit"])) < Decimal(str(record.inputs["old_limit"]))
    return record.decision in HELD_DECISIONS


def _decided_limit(record: AuditRecord) -> Decimal:
    """The limit the decision left the account with (a declined increase keeps the old one)."""
    key = "old_limit" if record.decision == "increase_declined" else "new_limit"
    return Decimal(str(record.inputs[key]))


def _new_decision(record: AuditRecord, new_limit: Any) -> dict[str, Any]:
    """What an overturn puts in place of the decision: a new limit, or the closure withdrawn, or (any overturn of
    a suspension of increases) the pause lifted, with the decided limit unless a new one is given."""
    old = Decimal(str(record.inputs["old_limit"]))
    suspended = record.decision == "increases_suspended"
    if new_limit is None and record.decision == "account_closure":
        new_limit = old
    if new_limit is None and suspended:
        new_limit = float(_decided_limit(record))
    if isinstance(new_limit, bool) or not isinstance(new_limit, int | float | Decimal) or not math.isfinite(new_limit) \
            or new_limit < 0 or new_limit >= 1e12:
        raise ReviewInputError("new_limit", "the limit the overturn puts in place (an amount, 0 or more)", new_limit)
    new = Decimal(str(new_limit))
    decided = _decided_limit(record)
    if new == decided and not suspended:
        raise ReviewInputError("new_limit", f"a limit other than the decided one ({decided}): an overturn changes it",
                               new_limit)
    if record.decision == "account_closure" and new == 0:
        raise ReviewInputError("new_limit", "more than 0: withdrawing a closure leaves the account a limit", new_limit)
    if suspended and new > old:
        raise ReviewInputError("new_limit", f"at most the limit before the decision ({old}): lifting the pause on "
                                            "increases gives no increase by itself", new_limit)
    outcome = {"decision": record.decision, "old_limit": float(old), "decided_limit": float(decided),
               "new_limit": float(new), "change": float(abs(new - decided)),
               "closure_withdrawn": record.decision == "account_closure"}
    if suspended:  # only here: every other kind's stored outcome keeps its form
        outcome["suspension_lifted"] = True
    return outcome


def _four_eyes(action: Action, caller: Caller, record: AuditRecord, review: Review) -> None:
    if caller.key_id == record.issuer_key_id or (record.issuer_key_name and caller.name == record.issuer_key_name):
        raise ReviewForbiddenError(action.value, "four eyes",
                                   "the reviewer may not be the key that issued the decision", case="issuer")
    proposal = review.proposal
    if action in (Action.CONFIRM, Action.REJECT) and proposal is not None and (
            caller.key_id == proposal.key_id or caller.name == proposal.key_name):
        raise ReviewForbiddenError(action.value, "four eyes", "the second look must come from another reviewer than "
                                   f"the one who proposed the overturn ({proposal.key_name})", case="second_look")


def _outcome_body(review: Review, record: AuditRecord, bundle: ModelBundle, *, result: str, reasons: list[str],
                  new_decision: dict[str, Any] | None, moment: dt.datetime, deciders: list[str]) -> dict[str, Any]:
    inputs = record.inputs
    new_limit = new_decision["new_limit"] if new_decision else float(_decided_limit(record))
    notice_inputs = {
        "outcome": result, "account_ref": inputs["account_ref"], "currency": inputs["currency"],
        "new_limit": new_limit, "closure_withdrawn": bool(new_decision and new_decision["closure_withdrawn"]),
        **({"suspension_lifted": True} if new_decision and new_decision.get("suspension_lifted") else {}),
        "outcome_reasons": reasons, "requested_date": review.requested_at[:10],
        "notice_date": moment.astimezone(dt.UTC).date().isoformat(), "reference": outcome_reference(review.review_id),
        "locales": list(inputs["locales"]),
    }
    notices, hashes = render_outcome_notices(notice_inputs, profile=bundle.profile, catalog=bundle.catalog)
    outcome = {"result": result, "outcome_reasons": reasons, "decided_by": deciders, "new_decision": new_decision}
    return {"outcome": outcome, "notice_inputs": notice_inputs, "notices": notices, "notice_hashes": hashes}


def act(reviews: ReviewStore, review_id: str, action: str, *, caller: Caller, record: AuditRecord,
        bundle: ModelBundle, rationale: str | None = None, outcome_reasons: Sequence[str] = (),
        new_limit: Any = None, facts: Mapping[str, Any] | None = None, now: dt.datetime | None = None) -> Review:
    """Take ``action`` on the review; the updated review. See :mod:`explain.review._workflow` for the moves."""
    review = reviews.get(review_id)
    if review is None:
        raise ReviewNotFoundError("review", review_id)
    try:
        action = Action(action)
    except ValueError:
        raise ReviewInputError("action", f"one of {', '.join(a.value for a in Action if a is not Action.REQUEST)}",
                               action) from None
    _check_role(action, caller)
    if action not in review.allowed:
        why = "awaiting a second reviewer" if review.awaiting_second else ""
        raise TransitionError(review_id, review.state.value, action.value, [a.value for a in review.allowed], why=why)
    moment = _now(now)
    policy = ReviewPolicy.from_profile(bundle.profile)
    needs_second = False
    body: dict[str, Any]
    if action in (Action.TRIAGE, Action.WITHDRAW):
        body = {"note": _text(rationale, "rationale", required=False)}
    elif action is Action.NOTE:
        body = {"note": _text(rationale, "rationale")}
    elif action is Action.WHAT_IF:
        corrected = {**review.request.body.get("facts", {}), **_facts(bundle, facts)}
        features = {**record.inputs["features"], **corrected}
        reasons = analyse(bundle, features, record.decision, record.inputs.get("policy_reasons", ()))
        body = {"facts": corrected, "bundle_sha256": bundle.sha256, "original_score": record.score,
                "original_reasons": [r["code"] for r in record.reasons], **reasons_payload(reasons)}
    else:
        _four_eyes(action, caller, record, review)
        note = _text(rationale, "rationale")
        if action is Action.UPHOLD:
            reasons = check_outcome_reasons("upheld", outcome_reasons)
            body = {"rationale": note, **_outcome_body(review, record, bundle, result="upheld", reasons=reasons,
                                                       new_decision=None, moment=moment, deciders=[caller.name])}
        elif action is Action.OVERTURN:
            reasons = check_outcome_reasons("overturned", outcome_reasons)
            new_decision = _new_decision(record, new_limit)
            needs_second = policy.needs_second_reviewer(Decimal(str(new_decision["change"])))
            body = {"rationale": note, "outcome_reasons": reasons, "new_decision": new_decision,
                    "needs_second_reviewer": needs_second,
                    "second_reviewer_above": float(policy.second_reviewer_above)}
            if not needs_second:
                body.update(_outcome_body(review, record, bundle, result="overturned", reasons=reasons,
                                          new_decision=new_decision, moment=moment, deciders=[caller.name]))
        elif action is Action.CONFIRM:
            proposal = review.proposal
            assert proposal is not None  # the state machine admits confirm only then
            body = {"rationale": note, "proposal_seq": proposal.seq,
                    **_outcome_body(review, record, bundle, result="overturned",
                                    reasons=proposal.body["outcome_reasons"],
                                    new_decision=proposal.body["new_decision"], moment=moment,
                                    deciders=[proposal.key_name, caller.name])}
        else:  # reject: the second reviewer disagrees
            body = {"rationale": note, "proposal_seq": review.proposal.seq if review.proposal else None}
    moved = next_state(review.state, action, awaiting_second=review.awaiting_second, needs_second=needs_second)
    assert moved is not None
    return reviews.append(review, action=action, to_state=moved[0], caller=caller, body=body,
                          at=utc_timestamp(moment))


def replay_review(review: Review, bundle: ModelBundle | None) -> dict[str, Any]:
    """Render every outcome notice of ``review`` again from its stored inputs; say, per notice, whether the
    bytes are the same (they differ only if the templates, catalogs or profile did)."""
    checks: list[dict[str, Any]] = []
    for event in review.events:
        if "notice_inputs" not in event.body:
            continue
        if bundle is None:
            checks.append({"seq": event.seq, "action": event.action, "identical": False,
                           "problem": "the decision's bundle is not loaded"})
            continue
        _, hashes = render_outcome_notices(event.body["notice_inputs"], profile=bundle.profile, catalog=bundle.catalog)
        same = {loc: hashes.get(loc) == h for loc, h in event.body["notice_hashes"].items()}
        checks.append({"seq": event.seq, "action": event.action, "identical": all(same.values()), "locales": same})
    return {"review_id": review.review_id, "state": review.state.value, "notices": checks,
            "identical": all(c["identical"] for c in checks)}

