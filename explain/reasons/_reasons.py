"""Choosing the principal reasons behind one limit decision.

The model says how much each reason group pushed the score; the lender says what it decided. A reason is a
group that pushed *the way the decision went*: toward risk for a decrease, closure, declined increase or
suspension of increases, toward approval for an increase. Protected groups are never reasons, however large: they are recorded on the
result so an auditor sees how much the model leaned on them. Policy reasons from the caller come first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from explain._exceptions import UnknownDecisionError

__all__ = [
    "MAX_REASONS", "Decision", "DecisionReasons", "DirectionRules", "ExcludedGroup", "Reason", "select_reasons",
    "select_reasons_matrix", "shown_features",
]

#: Regulators ask for the principal reasons, "no more than four" in most guidance; five is the hard cap.
MAX_REASONS = 5


class Decision(StrEnum):
    """What the lender did. The toolkit explains a decision; it never makes one."""

    LIMIT_INCREASE = "limit_increase"
    LIMIT_DECREASE = "limit_decrease"
    ACCOUNT_CLOSURE = "account_closure"
    INCREASE_DECLINED = "increase_declined"
    #: 关闭提额: further increases stopped (after an overdue repayment, unusual activity or a tightening), the
    #: limit kept or lowered with it; the customer did not ask, so it is not a declined increase.
    INCREASES_SUSPENDED = "increases_suspended"

    @classmethod
    def parse(cls, value: object) -> Decision:
        """Accept a member or its string value; anything else is an error listing the kinds."""
        try:
            return cls(value)
        except ValueError:
            raise UnknownDecisionError(value, [d.value for d in cls]) from None

    @property
    def is_adverse(self) -> bool:
        """True when the customer lost something, so the reasons are the factors that pushed toward risk."""
        return self is not Decision.LIMIT_INCREASE


@dataclass(frozen=True)
class Reason:
    """One principal reason, in the order it is given to the customer.

    ``contribution`` is in the model's margin space (log-odds for classifiers) and signed as the model sees
    it; ``effect`` says whether it pushed toward risk (``"adverse"``) or away from it (``"favourable"``).
    Policy reasons have no contribution, value or percentile.
    """

    code: str
    source: str  # "policy" or "model"
    effect: str  # "adverse" or "favourable"
    contribution: float | None = None
    feature: str | None = None  # the raw feature whose value the phrase shows
    value: Any = None  # the customer's own value of that feature
    value_kind: str | None = None
    percentile: float | None = None  # numeric values: share of the background at or below it, 0-100
    actionable: bool = False
    share: float | None = None  # categories: share of the background in the same category, 0-100
    # The contribution contradicts the catalog's declared direction (or category order) for this value: the
    # notice names the factor and the value without a judgment, and gives no advice.
    counter_intuitive: bool = False


@dataclass(frozen=True)
class DirectionRules:
    """What the catalog says a customer's value should do, judged against the background's typical value.

    For a number with a declared direction, a value above the background median is "riskier than typical"
    under ``higher_is_riskier`` (and "safer" under ``higher_is_safer``); for a category with a declared order
    (safest first), a category ranked above the background's median rank is riskier. A reason contradicts the
    catalog when it is adverse for a value on the safe side, or favourable for one on the risky side.
    """

    numeric: dict[str, tuple[float, int]] = field(default_factory=dict)  # feature -> (median, +1 riskier / -1)
    ordered: dict[str, tuple[dict[str, int], float]] = field(default_factory=dict)  # feature -> (ranks, median)

    @classmethod
    def from_catalog(cls, catalog: Any, background: pd.DataFrame | None) -> DirectionRules:
        if background is None or catalog is None:
            return cls()
        numeric, ordered = {}, {}
        for group in catalog.groups.values():
            for feature in group.features:
                spec = catalog.features[feature]
                if feature not in background:
                    continue
                column = background[feature].dropna()
                if spec.order:
                    ranks = {c: i for i, c in enumerate(spec.order)}
                    known = column.astype(str).map(ranks).dropna()
                    if len(known):
                        ordered[feature] = (ranks, float(np.median(known.to_numpy(dtype=float))))
                    continue
                direction = spec.direction or group.direction
                if direction != "none" and pd.api.types.is_numeric_dtype(column) and len(column):
                    numeric[feature] = (float(np.median(column.to_numpy(dtype=float))),
                                        1 if direction == "higher_is_riskier" else -1)
        return cls(numeric, ordered)

    def side(self, feature: str, value: Any) -> int:
        """+1 when ``value`` is riskier than typical by the catalog's declaration, -1 safer, 0 unknown."""
        if value is None:
            return 0
        if feature in self.ordered:
            ranks, median = self.ordered[feature]
            rank = ranks.get(str(value))
            return 0 if rank is None else int(np.sign(rank - median))
        if feature in self.numeric:
            median, sign = self.numeric[feature]
            try:
                return int(np.sign(float(value) - median)) * sign
            except (TypeError, ValueError):
                return 0
        return 0

    def contradicts(self, feature: str, value: Any, effect: str) -> bool:
        """Whether a reason with ``effect`` on this value reads against the catalog's declaration."""
        side = self.side(feature, value)
        return (effect == "adverse" and side < 0) or (effect == "favourable" and side > 0)


def shown_features(values: np.ndarray, columns: Sequence[int], members: Sequence[str], *, toward_risk: bool,
                   risk_sign: float) -> list[str]:
    """Per row, the member feature with the largest contribution in the reason's direction (the value shown).

    ``values`` holds raw-feature contributions in margin space (rows x features), ``columns`` the positions of
    ``members`` in it; ``risk_sign`` is +1 when a higher margin is riskier. Ties go to the earlier member, as
    listed in the catalog.
    """
    if len(members) == 1:
        return [members[0]] * len(values)
    toward = values[:, list(columns)] * (risk_sign if toward_risk else -risk_sign)
    return [members[j] for j in np.argmax(toward, axis=1)]


@dataclass(frozen=True)
class ExcludedGroup:
    """A protected group that would have qualified as a reason, with the size it had."""

    code: str
    contribution: float
    would_rank: int  # its place among the qualifying groups, had it not been protected


@dataclass(frozen=True)
class DecisionReasons:
    """The principal reasons for one account's decision, and what was deliberately left out."""

    row: Any
    decision: Decision
    reasons: tuple[Reason, ...]
    excluded: tuple[ExcludedGroup, ...]
    score: float
    margin: float
    base_value: float
    method: str
    mode: str | None
    group_contributions: dict[str, float] = field(default_factory=dict)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready structure (numpy scalars turned into Python numbers)."""
        return _plain(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)


def _plain(obj: Any) -> Any:
    """What ``asdict`` then plain values would give, without ``asdict``'s deep copy of every leaf (a record's
    reasons are converted on every decision)."""
    kind = type(obj)  # exact built-in types first, the rest as before
    if kind is str or kind is int or kind is bool or obj is None:
        return obj
    if kind is float:
        return None if obj != obj else obj
    if kind is dict:
        return {k if type(k) is str else str(k): _plain(v) for k, v in obj.items()}
    if kind is list or kind is tuple:
        return [_plain(v) for v in obj]
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and np.isnan(obj):
        return None
    return obj


def select_reasons(
    group_contributions: pd.Series,
    *,
    decision: Decision,
    higher_is: str,
    protected: Iterable[str],
    top: int,
    materiality: float,
    policy_reasons: Sequence[Reason] = (),
) -> tuple[list[str], list[ExcludedGroup]]:
    """Pick the group codes that are principal reasons for one account, largest first.

    See :func:`select_reasons_matrix`, which does the same for many accounts at once.
    """
    [result] = select_reasons_matrix(
        group_contributions.to_numpy(dtype=float)[None, :], list(group_contributions.index),
        decision=decision, higher_is=higher_is, protected=protected, top=top, materiality=materiality,
        n_policy=len(policy_reasons),
    )
    return result


def select_reasons_matrix(
    contributions: np.ndarray,
    codes: Sequence[str],
    *,
    decision: Decision,
    higher_is: str,
    protected: Iterable[str],
    top: int,
    materiality: float,
    n_policy: int = 0,
) -> list[tuple[list[str], list[ExcludedGroup]]]:
    """Principal reason codes and excluded protected groups for each row of a (rows x groups) matrix.

    A group qualifies when it pushed the way the decision went and its share of the row's total absolute
    group contribution is at least ``materiality``. Pushes are compared rounded to 12 decimals, and a stable
    sort keeps exact ties in catalog (column) order, so the choice never depends on float noise in the last
    bits or on sort internals. Policy reasons take the first ``n_policy`` places of ``top``.
    """
    values = np.asarray(contributions, dtype=float)
    # In margin space a positive contribution raises the score; whether that is bad depends on its meaning.
    toward_risk = values if higher_is == "risk" else -values
    pushed = toward_risk if decision.is_adverse else -toward_risk
    floor = materiality * np.abs(values).sum(axis=1, keepdims=True)
    qualifies = (pushed > 1e-12) & (np.abs(values) >= floor)
    key = np.where(qualifies, np.round(pushed, 12), -np.inf)
    order = np.argsort(-key, axis=1, kind="stable")
    counts = qualifies.sum(axis=1)
    is_protected = np.isin(np.asarray(codes, dtype=object), list(protected))
    room = max(0, top - n_policy)
    results = []
    for i in range(values.shape[0]):
        chosen: list[str] = []
        excluded: list[ExcludedGroup] = []
        for rank, j in enumerate(order[i, : counts[i]].tolist(), start=1):
            if is_protected[j]:
                excluded.append(ExcludedGroup(code=codes[j], contribution=float(values[i, j]), would_rank=rank))
            elif len(chosen) < room:
                chosen.append(codes[j])
        results.append((chosen, excluded))
    return results
