"""The review's state machine, with no storage and no clock: which action moves which state where, and who
may take it.

::

    requested ──triage──▶ in_review ──uphold──▶ upheld
        │                     │ ──overturn──▶ overturned      (at or below the second-reviewer threshold)
        │                     │ ──overturn──▶ in_review, awaiting a second reviewer
        │                     │                 ──confirm──▶ overturned   (a different reviewer agrees)
        │                     │                 ──reject───▶ in_review    (disagrees: back to the first look)
        └──withdraw──▶ withdrawn ◀──withdraw──┘

``note`` and ``what_if`` add to an open review without moving it. Upheld, overturned and withdrawn are final.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ACTION_ROLES", "FINAL_STATES", "Action", "State", "allowed_actions", "next_state"]


class State(StrEnum):
    REQUESTED = "requested"
    IN_REVIEW = "in_review"
    UPHELD = "upheld"
    OVERTURNED = "overturned"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    REQUEST = "request"
    TRIAGE = "triage"
    NOTE = "note"
    WHAT_IF = "what_if"
    UPHOLD = "uphold"
    OVERTURN = "overturn"
    CONFIRM = "confirm"
    REJECT = "reject"
    WITHDRAW = "withdraw"


FINAL_STATES = frozenset({State.UPHELD, State.OVERTURNED, State.WITHDRAWN})

#: Who may take each action: ``issuer`` acts for the customer's channel, ``agent`` triages, ``reviewer`` decides.
ACTION_ROLES: dict[Action, tuple[str, ...]] = {
    Action.REQUEST: ("issuer",),
    Action.TRIAGE: ("agent",),
    Action.NOTE: ("agent", "reviewer"),
    Action.WHAT_IF: ("reviewer",),
    Action.UPHOLD: ("reviewer",),
    Action.OVERTURN: ("reviewer",),
    Action.CONFIRM: ("reviewer",),
    Action.REJECT: ("reviewer",),
    Action.WITHDRAW: ("issuer", "agent"),
}

_MOVES: dict[tuple[State, bool], tuple[Action, ...]] = {
    (State.REQUESTED, False): (Action.TRIAGE, Action.NOTE, Action.WITHDRAW),
    (State.IN_REVIEW, False): (Action.NOTE, Action.WHAT_IF, Action.UPHOLD, Action.OVERTURN, Action.WITHDRAW),
    (State.IN_REVIEW, True): (Action.NOTE, Action.WHAT_IF, Action.CONFIRM, Action.REJECT, Action.WITHDRAW),
}


def allowed_actions(state: State, *, awaiting_second: bool = False) -> tuple[Action, ...]:
    """The actions a review in ``state`` admits (none once it is final)."""
    return _MOVES.get((State(state), bool(awaiting_second)), ())


def next_state(state: State, action: Action, *, awaiting_second: bool = False,
               needs_second: bool = False) -> tuple[State, bool] | None:
    """``(new state, awaiting a second reviewer)`` after ``action``, or None when ``action`` is not allowed.

    ``needs_second`` says whether this overturn is above the profile's threshold (the caller works it out).
    """
    state, action = State(state), Action(action)
    if action not in allowed_actions(state, awaiting_second=awaiting_second):
        return None
    if action is Action.TRIAGE:
        return State.IN_REVIEW, False
    if action is Action.UPHOLD:
        return State.UPHELD, False
    if action is Action.OVERTURN:
        return (State.IN_REVIEW, True) if needs_second else (State.OVERTURNED, False)
    if action is Action.CONFIRM:
        return State.OVERTURNED, False
    if action is Action.REJECT:
        return State.IN_REVIEW, False
    if action is Action.WITHDRAW:
        return State.WITHDRAWN, False
    return state, awaiting_second  # note, what_if
