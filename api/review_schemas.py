"""Request and response bodies of the review routes (api/routes/reviews.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from explain.review import OUTCOME_REASONS, REQUEST_CHANNELS, Action, State

__all__ = ["ReviewActionRequest", "ReviewEventOut", "ReviewOut", "ReviewQueue", "ReviewReplay", "ReviewRequest"]

FactValue = str | int | float | bool | None
# The workflow's own lists (explain.review), so the schema cannot drift from what the workflow accepts.
_ACTIONS = tuple(a.value for a in Action if a is not Action.REQUEST)
_STATES = tuple(s.value for s in State)
_OUTCOME_REASONS = tuple(code for codes in OUTCOME_REASONS.values() for code in codes)
Text = str


class ReviewRequest(BaseModel):
    """The customer's request for a human review, as the channel it came through took it down."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"statement": "My income went up last month; the decision used old figures.",
         "facts": {"duration_in_months": 12}, "channel": "phone"}]})

    statement: Text = Field(min_length=1, max_length=4000, description="The customer's own words.")
    facts: dict[str, FactValue] = Field(default_factory=dict, max_length=50,
                                        description="Corrected or new facts, by feature name.")
    channel: Literal[REQUEST_CHANNELS]  # type: ignore[valid-type]


class ReviewActionRequest(BaseModel):
    """One action on a review: triage, note, what_if, uphold, overturn, confirm, reject or withdraw."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"action": "overturn", "rationale": "Income evidence checked; the decrease was too deep.",
         "outcome_reasons": ["facts_corrected"], "new_limit": 15000}]})

    action: Literal[_ACTIONS]  # type: ignore[valid-type]
    rationale: Text | None = Field(default=None, min_length=1, max_length=4000,
                                   description="Written rationale (required to decide) or the note.")
    outcome_reasons: list[Literal[_OUTCOME_REASONS]] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=len(_OUTCOME_REASONS))
    new_limit: float | None = Field(default=None, ge=0, lt=1e12,
                                    description="The limit an overturn puts in place (a closure: default the old "
                                                "limit).")
    facts: dict[str, FactValue] = Field(default_factory=dict, max_length=50,
                                        description="A what-if's corrected facts, on top of the request's.")


_EVENT = {"id": 7, "review_id": "1b2c3d4e-0000-4000-8000-000000000001",
          "decision_id": "8a4c1f62-3a0e-4a43-9a8e-3f0f3d1e5b1c",
          "seq": 1, "at": "2026-12-05T08:00:00.000000+00:00", "action": "request", "from_state": "",
          "to_state": "requested", "key_id": "3f9c0a7b21d4e856", "key_name": "lender-x", "role": "issuer",
          "body": {"statement": "Please look again.", "facts": {}, "channel": "phone"}}
_REVIEW = {"review_id": _EVENT["review_id"], "decision_id": _EVENT["decision_id"], "account_ref": "6222-0001",
           "state": "requested", "awaiting_second_reviewer": False, "allowed_actions": ["triage", "note", "withdraw"],
           "held": True, "jurisdiction": "CN", "requested_at": _EVENT["at"], "due_date": "2026-12-20",
           "overdue": False, "decided_at": None, "statement": "Please look again.", "facts": {}, "channel": "phone",
           "outcome": None, "events": [_EVENT]}


class ReviewEventOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EVENT]})

    id: int
    review_id: str
    decision_id: str
    seq: int
    at: str
    action: str
    from_state: str
    to_state: str
    key_id: str
    key_name: str
    role: str
    body: dict[str, Any]


class ReviewOut(BaseModel):
    """A review: its state, the moves it allows, its due date, and every event in order."""

    model_config = ConfigDict(json_schema_extra={"examples": [_REVIEW]})

    review_id: str
    decision_id: str
    account_ref: str
    state: Literal[_STATES]  # type: ignore[valid-type]
    awaiting_second_reviewer: bool
    allowed_actions: list[str]
    held: bool
    jurisdiction: str
    requested_at: str
    due_date: str
    overdue: bool
    decided_at: str | None
    statement: str | None
    facts: dict[str, Any]
    channel: str | None
    outcome: dict[str, Any] | None
    events: list[ReviewEventOut]


class ReviewQueue(BaseModel):
    """Reviews, overdue open ones first, then by due date."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"overdue": 0, "reviews": [_REVIEW]}]})

    overdue: int
    reviews: list[ReviewOut]


class ReviewReplay(BaseModel):
    """Each outcome notice of a review rendered again from its stored inputs: identical or not, per locale."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"review_id": _EVENT["review_id"], "state": "upheld", "identical": True,
         "notices": [{"seq": 3, "action": "uphold", "identical": True, "locales": {"zh_CN": True, "en": True}}]}]})
    review_id: str
    state: str
    identical: bool
    notices: list[dict[str, Any]]

