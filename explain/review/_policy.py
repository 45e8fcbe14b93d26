"""The lender's review rules, read from the ``[review]`` table of its profile, and the law's reply deadlines.

========  ==================================================================================================
window    ``window_days``: days after the notice date within which the customer can ask (already in every
          profile; the notices quote it).
hold      ``holds_decision`` (default false): a decrease or closure is held, not applied, while its review is
          open. The decision record and the agent page say "held".
four eyes ``second_reviewer_above`` (money, default 0): an overturn that moves the limit by more than this
          needs a second reviewer's confirmation. 0: every overturn does.
deadline  ``reply_days``: days from the request to the answer. The jurisdiction pack sets the longest the
          law allows (CN: 15 days for a complaint reply; US: 30 days, Reg B §1002.9 on an existing account);
          a lender may promise fewer, never more. EU (GDPR art. 12(3), CCD art. 18): "without undue delay",
          so the lender must give its own bound.
========  ==================================================================================================

The table is read from the profile's own TOML text (``LenderProfile.source``), so the profile's parser does
not need to know these keys; a profile built in code gets the defaults and its pack's deadline.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from explain.notices._profile import PROFILE_TABLES, LenderProfile
from explain.review._errors import ReviewInputError

__all__ = ["PACK_REPLY_DAYS", "ReviewPolicy"]

#: The longest reply the law allows, in calendar days, per jurisdiction pack (None: the lender must bound it).
PACK_REPLY_DAYS: dict[str, int | None] = {"CN": 15, "US": 30, "EU": None, "HK": None,
                                          # 金融消費者保護法 art. 13: the institution answers a complaint within 30 days
                                          "TW": 30}
#: The keys a profile's [review] table may hold: the profile's own schema, the one list of them.
_KEYS = PROFILE_TABLES["review"]


def _review_table(profile: LenderProfile) -> dict[str, Any]:
    try:
        data = tomllib.loads(profile.source)
    except tomllib.TOMLDecodeError:
        return {}  # built in code: its source is a canonical repr, not TOML
    review = data.get("review", {})
    return dict(review) if isinstance(review, Mapping) else {}


@dataclass(frozen=True)
class ReviewPolicy:
    """How one lender runs reviews (see the module docstring)."""

    jurisdiction: str
    window_days: int
    reply_days: int
    holds_decision: bool = False
    second_reviewer_above: Decimal = Decimal(0)

    @classmethod
    def from_profile(cls, profile: LenderProfile) -> ReviewPolicy:
        table = _review_table(profile)
        unknown = sorted(set(table) - set(_KEYS))
        if unknown:
            raise ReviewInputError(f"profile review.{unknown[0]}", f"one of {', '.join(_KEYS)}", unknown[0])
        jurisdiction = profile.legal.jurisdiction
        hold = table.get("holds_decision", False)
        if not isinstance(hold, bool):
            raise ReviewInputError("profile review.holds_decision", "true or false", hold)
        threshold = table.get("second_reviewer_above", 0)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold < 0:
            raise ReviewInputError("profile review.second_reviewer_above", "an amount of money, 0 or more", threshold)
        bound = PACK_REPLY_DAYS[jurisdiction]
        reply = table.get("reply_days", bound)
        if reply is None:
            why = "asks for an answer without undue delay" if jurisdiction == "EU" else "sets no period by law"
            raise ReviewInputError("profile review.reply_days", f"the lender's bound in days: {jurisdiction} {why}", None)
        if isinstance(reply, bool) or not isinstance(reply, int) or reply < 1 or (bound is not None and reply > bound):
            most = f"at most {bound} ({jurisdiction})" if bound is not None else "at most 366"
            raise ReviewInputError("profile review.reply_days", f"a whole number of days from 1, {most}", reply)
        if bound is None and reply > 366:
            raise ReviewInputError("profile review.reply_days", "a whole number of days from 1, at most 366", reply)
        return cls(jurisdiction=jurisdiction, window_days=profile.review_window_days, reply_days=reply,
                   holds_decision=hold, second_reviewer_above=Decimal(str(threshold)))

    def last_day(self, notice_date: dt.date) -> dt.date:
        """The last day the customer can ask for a review of a notice dated ``notice_date``."""
        return notice_date + dt.timedelta(days=self.window_days)

    def due_date(self, requested_on: dt.date) -> dt.date:
        """The day the answer is due for a request received on ``requested_on``."""
        return requested_on + dt.timedelta(days=self.reply_days)

    def needs_second_reviewer(self, change: Decimal) -> bool:
        """Whether an overturn that moves the limit by ``change`` needs a second reviewer."""
        return abs(change) > self.second_reviewer_above
