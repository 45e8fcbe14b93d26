"""The review figures of the compliance report: how many reviews, how fast against the law's deadline, how
often decisions are overturned (by the decision's principal reason group and by reviewer), and how often a
second reviewer disagrees with the first."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from explain.audit._audit import AuditRecord
from explain.review._records import Review
from explain.review._workflow import Action, State

__all__ = ["review_figures"]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _first_decider(review: Review) -> str | None:
    """Who made the first look's decision: the upholder, or the reviewer who (first) proposed the overturn."""
    for event in review.events:
        if event.action in (Action.UPHOLD, Action.OVERTURN):
            return event.key_name
    return None


def review_figures(reviews: Iterable[Review], decision: Callable[[str], AuditRecord | None], *,
                   today: dt.date) -> dict[str, Any]:
    """Plain figures over ``reviews`` (``decision(decision_id)`` gives each review's record)."""
    by_state: Counter[str] = Counter()
    by_jurisdiction: Counter[str] = Counter()
    days: list[int] = []
    on_time = late = overdue_open = 0
    by_group: dict[str, Counter[str]] = defaultdict(Counter)
    by_reviewer: dict[str, Counter[str]] = defaultdict(Counter)
    second_looks: dict[str, Counter[str]] = defaultdict(Counter)
    total = 0
    for review in reviews:
        total += 1
        state = review.state
        by_state[state.value] += 1
        by_jurisdiction[review.jurisdiction] += 1
        for event in review.events:
            if event.action in (Action.CONFIRM, Action.REJECT):
                second_looks[event.key_name][event.action] += 1
        if state not in (State.UPHELD, State.OVERTURNED):
            if state in (State.REQUESTED, State.IN_REVIEW) and review.overdue(today):
                overdue_open += 1
            continue
        decided_on = dt.date.fromisoformat(review.decided_at[:10])
        days.append((decided_on - dt.date.fromisoformat(review.requested_at[:10])).days)
        if decided_on <= dt.date.fromisoformat(review.due_date):
            on_time += 1
        else:
            late += 1
        record = decision(review.decision_id)
        group = record.reasons[0]["code"] if record is not None and record.reasons else "(none)"
        by_group[group]["decided"] += 1
        by_group[group][state.value] += 1
        reviewer = _first_decider(review) or "(unknown)"
        by_reviewer[reviewer]["decided"] += 1
        by_reviewer[reviewer][state.value] += 1

    def rates(table: dict[str, Counter[str]]) -> list[dict[str, Any]]:
        rows = [{"key": key, "decided": c["decided"], "overturned": c["overturned"],
                 "overturn_rate": _rate(c["overturned"], c["decided"])} for key, c in table.items()]
        return sorted(rows, key=lambda r: (-r["decided"], r["key"]))

    looks = sum(sum(c.values()) for c in second_looks.values())
    rejects = sum(c["reject"] for c in second_looks.values())
    decided = on_time + late
    return {
        "total": total,
        "by_state": dict(sorted(by_state.items())),
        "by_jurisdiction": dict(sorted(by_jurisdiction.items())),
        "overdue_open": overdue_open,
        "decided": decided,
        "on_time": on_time,
        "late": late,
        "on_time_rate": _rate(on_time, decided),
        "days_to_decision": {"median": statistics.median(days) if days else None, "max": max(days) if days else None},
        "overturn_rate": _rate(by_state["overturned"], decided),
        "by_reason_group": rates(by_group),
        "by_reviewer": rates(by_reviewer),
        "second_looks": looks,
        "disagreements": rejects,
        "disagreement_rate": _rate(rejects, looks),
        "second_looks_by_reviewer": [{"key": k, "confirm": c["confirm"], "reject": c["reject"]}
                                     for k, c in sorted(second_looks.items())],
    }
