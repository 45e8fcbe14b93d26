"""Recourse as the customer reads it: one "what would change this" sentence per verified suggestion.

The sentence frame and the clause per change are the toolkit's gettext messages (``locales/``); what the
feature is called ("the term of your loan") is the lender's phrase (``[actions.<feature>] label``), and the
value is formatted by Babel like every other value in a notice (``12个月``, ``CN¥2,500.00``, a category's
phrase). Nothing is said for a suggestion that was not verified: :class:`Recourse` holds only verified ones.
"""

from __future__ import annotations

from typing import Any

from explain.notices._formatting import format_value
from explain.recourse._result import Change, Recourse

__all__ = ["recourse_lines", "review_line"]


def _frame(decision: str, _: Any) -> str:
    frames = {
        "limit_decrease": _("If %(changes)s, your limit would likely not have been lowered."),
        "account_closure": _("If %(changes)s, your account would likely not have been closed."),
        "increase_declined": _("If %(changes)s, your limit increase would likely have been approved."),
        "increases_suspended": _("If %(changes)s, increases to your limit would likely not have been paused."),
    }
    return frames[decision]


def _clause(change: Change, *, locale: str, catalog: Any, currency: str, _: Any) -> str:
    action = catalog.recourse.actions[change.feature]
    what = catalog.phrase(f"actions:{change.feature}:label", action.label, locale=locale)
    value = format_value(change.value, change.kind, locale=locale, currency=currency, feature=change.feature,
                         catalog=catalog, field=f"recourse.{change.feature}")
    if change.kind == "category":
        return _("%(what)s were: %(value)s") % {"what": what, "value": value}
    if change.months is not None:
        months = format_value(change.months, "months", locale=locale, field=f"recourse.{change.feature}.months")
        return _("in %(months)s %(what)s were %(value)s or more") % {"months": months, "what": what, "value": value}
    if change.direction == "decrease":
        return _("%(what)s were %(value)s or less") % {"what": what, "value": value}
    return _("%(what)s were %(value)s or more") % {"what": what, "value": value}


def recourse_lines(recourse: Recourse | None, *, locale: str, catalog: Any, currency: str = "CNY") -> list[str]:
    """One localized sentence per verified suggestion, cheapest first (empty when there is none)."""
    from explain.notices._environment import strict_callables

    if recourse is None or not recourse.suggestions:
        return []
    _ = strict_callables(locale)[0]
    lines = []
    for suggestion in recourse.suggestions:
        clauses = [_clause(c, locale=locale, catalog=catalog, currency=currency, _=_)
                   for c in suggestion.changes]
        changes = clauses[0]
        for clause in clauses[1:]:
            changes = _("%(first)s and %(second)s") % {"first": changes, "second": clause}
        lines.append(_frame(recourse.decision, _) % {"changes": changes})
    return lines


def review_line(recourse: Recourse | None, *, locale: str) -> str | None:
    """The honest sentence for a search that found nothing within the actions: a person will look again."""
    from explain.notices._environment import strict_callables

    if recourse is None or not recourse.needs_review:
        return None
    _ = strict_callables(locale)[0]
    return _("We found no change you could make that would, by itself, change this decision. You can ask for a "
             "person to review it.")
