"""What can go wrong with a review, each error carrying what it is about and building its own message::

    ExplainError
    └── ReviewError                         root of this stage
        ├── ReviewNotFoundError (LookupError)   no such review (or no such decision)
        ├── TransitionError (ValueError)        an action the review's state does not allow: names the moves it does
        ├── ReviewWindowClosedError (ValueError) the customer asked after the profile's review window
        ├── ReviewOpenError (ValueError)        the decision already has a review under way
        └── ReviewForbiddenError (PermissionError) the wrong role, or four eyes broken
    InvalidInputError
    └── ReviewInputError                    a field of a review request or action is missing or out of range
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from explain._exceptions import ExplainError, InvalidInputError

__all__ = ["ReviewError", "ReviewForbiddenError", "ReviewInputError", "ReviewNotFoundError", "ReviewOpenError",
           "ReviewWindowClosedError", "TransitionError"]


class ReviewError(ExplainError):
    """Root of every error of :mod:`explain.review`."""


class ReviewInputError(InvalidInputError):
    """A field of a review request or action that cannot be taken (``field``, ``expected``, ``got``)."""


class ReviewNotFoundError(ReviewError, LookupError):
    def __init__(self, what: str, ref: str) -> None:
        self.what = what
        self.ref = ref
        super().__init__(f"There is no {what} with id {ref!r}.")

    def __str__(self) -> str:
        return str(self.args[0])


class TransitionError(ReviewError, ValueError):
    """``action`` is not a move from ``state``; ``allowed`` are the moves that are."""

    def __init__(self, review_id: str, state: str, action: str, allowed: Sequence[str], *, why: str = "") -> None:
        self.review_id = review_id
        self.state = state
        self.action = action
        self.allowed = tuple(allowed)
        moves = ", ".join(map(repr, self.allowed)) if self.allowed else "none (the review is closed)"
        because = f" ({why})" if why else ""
        super().__init__(f"The review {review_id} is {state!r}{because}: {action!r} is not allowed. "
                         f"Allowed moves: {moves}.")


class ReviewWindowClosedError(ReviewError, ValueError):
    def __init__(self, decision_id: str, notice_date: dt.date, window_days: int, today: dt.date) -> None:
        self.decision_id = decision_id
        self.notice_date = notice_date
        self.window_days = window_days
        self.last_day = notice_date + dt.timedelta(days=window_days)
        self.today = today
        super().__init__(f"The review window of decision {decision_id} closed on {self.last_day.isoformat()} "
                         f"({window_days} days after the notice date {notice_date.isoformat()}); "
                         f"the request came on {today.isoformat()}.")


class ReviewOpenError(ReviewError, ValueError):
    def __init__(self, decision_id: str, review_id: str, state: str) -> None:
        self.decision_id = decision_id
        self.review_id = review_id
        self.state = state
        super().__init__(f"The decision {decision_id} already has a review under way ({review_id}, {state!r}); "
                         "add to that review instead.")


class ReviewForbiddenError(ReviewError, PermissionError):
    """The caller may not take this action: wrong role, or the four-eyes rule (``rule``) forbids it."""

    def __init__(self, action: str, rule: str, detail: str, *, case: str = "") -> None:
        self.action = action
        self.rule = rule
        self.detail = detail
        #: Which check refused, for a reader that words it itself: ``role``, ``issuer`` or ``second_look``.
        self.case = case or rule
        super().__init__(f"{action!r} refused ({rule}): {detail}")
