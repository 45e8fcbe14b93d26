"""Human review: the customer's right to contest an automated limit decision (PIPL art. 24, GDPR art. 22(3),
CCD (EU) 2023/2225 art. 18, Reg B), worked end to end and kept on the audit log.

A request (``request_review``) opens a review; ``act`` moves it through
``requested → in_review → upheld | overturned | withdrawn`` with roles, four eyes, a second reviewer above
the profile's threshold, a deadline per jurisdiction, the reviewer's what-if and the outcome notices.
"""

from explain.review._errors import (ReviewError, ReviewForbiddenError, ReviewInputError, ReviewNotFoundError,
                                    ReviewOpenError, ReviewWindowClosedError, TransitionError)
from explain.review._outcome import OUTCOME_REASONS, outcome_reference, render_outcome_notices
from explain.review._policy import PACK_REPLY_DAYS, ReviewPolicy
from explain.review._records import Review, ReviewEvent
from explain.review._service import HELD_DECISIONS, REQUEST_CHANNELS, act, replay_review, request_review
from explain.review._store import Opened, ReviewStore
from explain.review._workflow import ACTION_ROLES, FINAL_STATES, Action, State, allowed_actions, next_state

__all__ = [
    "ACTION_ROLES",
    "FINAL_STATES",
    "HELD_DECISIONS",
    "OUTCOME_REASONS",
    "PACK_REPLY_DAYS",
    "REQUEST_CHANNELS",
    "Action",
    "Opened",
    "Review",
    "ReviewError",
    "ReviewEvent",
    "ReviewForbiddenError",
    "ReviewInputError",
    "ReviewNotFoundError",
    "ReviewOpenError",
    "ReviewPolicy",
    "ReviewStore",
    "ReviewWindowClosedError",
    "State",
    "TransitionError",
    "act",
    "allowed_actions",
    "next_state",
    "outcome_reference",
    "render_outcome_notices",
    "replay_review",
    "request_review",
]
