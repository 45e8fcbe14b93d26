"""What recourse found for one account: verified suggestions, or a certificate that none exists.

Small frozen dataclasses that serialise to JSON in one call (:meth:`Recourse.to_dict`) and back
(:meth:`Recourse.from_dict`), so the audit record stores them and replay compares them byte for byte. The
wall-clock time is kept on the object for metrics but left out of the dict: the bound on work that makes a
result reproducible is the deterministic ``budget`` of candidate evaluations, not a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["STATUSES", "Certificate", "Change", "Recourse", "Suggestion"]

#: ``found``: verified suggestions; ``infeasible``: proven that no change within the actions reaches the target;
#: ``target_met``: the score already meets the target, so the model is not why; ``budget_exhausted``: the
#: work bound stopped the search first; ``unverified``: the model itself did not confirm what the search found
#: (never expected: the flattened trees are proven equal to it); ``no_actions``/``no_target``: nothing to search;
#: ``time_limit``: the MILP for more than two changes ran out of time before proving its answer (suggestions, if
#: any, are verified but not proven the cheapest; none found is not a proof that none exists).
STATUSES: tuple[str, ...] = ("found", "infeasible", "target_met", "budget_exhausted", "unverified", "no_actions",
                             "no_target", "time_limit")


def _plain(value: Any) -> Any:
    """NumPy scalars as Python numbers (integers stay integers) for JSON."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


@dataclass(frozen=True)
class Change:
    """One feature moved: from the customer's value to the suggested one (a number, or a category).

    ``months`` is set for features that change only with time: the wait until the value is reached.
    """

    feature: str
    kind: str
    current: Any
    value: Any
    direction: str
    cost: float
    months: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "kind": self.kind, "current": _plain(self.current), "value": _plain(self.value),
                "direction": self.direction, "cost": round(float(self.cost), 12),
                "months": None if self.months is None else int(self.months)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(data["feature"], data["kind"], data["current"], data["value"], data["direction"], data["cost"],
                   data.get("months"))


@dataclass(frozen=True)
class Suggestion:
    """A change of one or two features, with the score the model itself gave the changed account."""

    changes: tuple[Change, ...]
    cost: float
    score: float  # verified: the model's own score of the account with the changes applied

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(c.feature for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {"changes": [c.to_dict() for c in self.changes], "cost": round(float(self.cost), 12),
                "score": round(float(self.score), 12)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Suggestion:
        return cls(tuple(Change.from_dict(c) for c in data["changes"]), data["cost"], data["score"])


@dataclass(frozen=True)
class Certificate:
    """Why no suggestion is shown: what was tried, and how close the best of it came.

    ``best_score`` is the best score reachable by any candidate within ``max_changes`` of the listed actions
    (exact over the model's split cells for tree ensembles); ``best_changes`` is the change that reaches it.
    """

    actions: tuple[dict[str, Any], ...]
    max_changes: int
    candidates: int
    best_score: float
    best_changes: tuple[Change, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"actions": [dict(a) for a in self.actions], "max_changes": self.max_changes,
                "candidates": self.candidates, "best_score": round(float(self.best_score), 12),
                "best_changes": [c.to_dict() for c in self.best_changes]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Certificate:
        return cls(tuple(data["actions"]), data["max_changes"], data["candidates"], data["best_score"],
                   tuple(Change.from_dict(c) for c in data.get("best_changes", ())))


@dataclass(frozen=True)
class Recourse:
    """Recourse for one account and one adverse decision.

    ``suggestions`` are in increasing cost (the first is the optimum); each was re-scored by the model itself
    and reaches ``target``. ``exact`` says the search covered every cell of the model (tree ensembles), not a
    sample of values. ``needs_review`` tells the notice to point to human review rather than advice.
    """

    decision: str
    status: str
    score: float
    target: float | None
    higher_is: str
    method: str
    exact: bool
    evaluated: int
    suggestions: tuple[Suggestion, ...] = ()
    certificate: Certificate | None = None
    milp: dict[str, Any] | None = None  # more than two changes: how the MILP ran (solver, limit, solves, proven)
    elapsed_ms: float = field(default=0.0, compare=False)

    @property
    def needs_review(self) -> bool:
        if self.status == "time_limit":
            return not self.suggestions
        return self.status in ("infeasible", "budget_exhausted", "unverified", "no_actions")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready and deterministic (no clock): what the audit record stores and replay compares."""
        return {
            "decision": self.decision,
            "status": self.status,
            "score": round(float(self.score), 12),
            "target": self.target,
            "higher_is": self.higher_is,
            "method": self.method,
            "exact": self.exact,
            "evaluated": self.evaluated,
            "suggestions": [s.to_dict() for s in self.suggestions],
            "certificate": None if self.certificate is None else self.certificate.to_dict(),
            **({} if self.milp is None else {"milp": dict(self.milp)}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recourse:
        cert = data.get("certificate")
        return cls(data["decision"], data["status"], data["score"], data["target"], data["higher_is"], data["method"],
                   data["exact"], data["evaluated"], tuple(Suggestion.from_dict(s) for s in data["suggestions"]),
                   None if cert is None else Certificate.from_dict(cert), data.get("milp"))
