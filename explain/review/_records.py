"""A review as read back: its events in order, and what they add up to (state, statement, outcome...)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Any

from explain.review._workflow import FINAL_STATES, Action, State, allowed_actions

__all__ = ["Review", "ReviewEvent"]


@dataclass(frozen=True)
class ReviewEvent:
    """One action on a review, as stored (and as its log leaf covers it); ``body`` is what the action said."""

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Review:
    """A customer's request for a human review of one decision, folded from its events."""

    review_id: str
    decision_id: str
    account_ref: str
    jurisdiction: str
    due_date: str
    held: bool
    events: tuple[ReviewEvent, ...]

    @property
    def request(self) -> ReviewEvent:
        return self.events[0]

    @property
    def state(self) -> State:
        return State(self.events[-1].to_state)

    @property
    def seq(self) -> int:
        return self.events[-1].seq

    @property
    def requested_at(self) -> str:
        return self.request.at

    @property
    def proposal(self) -> ReviewEvent | None:
        """The overturn awaiting a second reviewer, if any."""
        for event in reversed(self.events):
            if event.action in (Action.CONFIRM, Action.REJECT):
                return None
            if event.action == Action.OVERTURN:
                return event if event.to_state == State.IN_REVIEW else None
        return None

    @property
    def awaiting_second(self) -> bool:
        return self.proposal is not None

    @property
    def decision_event(self) -> ReviewEvent | None:
        """The event that closed the review (uphold, overturn, confirm or withdraw)."""
        last = self.events[-1]
        return last if self.state in FINAL_STATES else None

    @property
    def decided_at(self) -> str | None:
        event = self.decision_event
        return event.at if event else None

    @property
    def outcome(self) -> dict[str, Any] | None:
        event = self.decision_event
        return event.body.get("outcome") if event else None

    @property
    def allowed(self) -> tuple[Action, ...]:
        return allowed_actions(self.state, awaiting_second=self.awaiting_second)

    def overdue(self, today: dt.date) -> bool:
        """Open past its due date, or decided after it."""
        due = dt.date.fromisoformat(self.due_date)
        if self.decided_at is None:
            return today > due
        return dt.date.fromisoformat(self.decided_at[:10]) > due

    def to_dict(self, *, today: dt.date | None = None) -> dict[str, Any]:
        today = today or dt.datetime.now(dt.UTC).date()
        request = self.request.body
        return {
            "review_id": self.review_id, "decision_id": self.decision_id, "account_ref": self.account_ref,
            "state": self.state.value, "awaiting_second_reviewer": self.awaiting_second,
            "allowed_actions": [a.value for a in self.allowed], "held": self.held and self.state not in FINAL_STATES,
            "jurisdiction": self.jurisdiction, "requested_at": self.requested_at, "due_date": self.due_date,
            "overdue": self.overdue(today), "decided_at": self.decided_at, "statement": request.get("statement"),
            "facts": request.get("facts", {}), "channel": request.get("channel"), "outcome": self.outcome,
            "events": [e.to_dict() for e in self.events],
        }


def event_from_row(row: Any) -> ReviewEvent:
    return ReviewEvent(id=row.id, review_id=row.review_id, decision_id=row.decision_id, seq=row.seq, at=row.at,
                       action=row.action, from_state=row.from_state, to_state=row.to_state, key_id=row.key_id,
                       key_name=row.key_name, role=row.role, body=json.loads(row.body))
