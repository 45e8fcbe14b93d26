"""What a customer can change, and what the lender's decision needed: the ``[actions.*]`` and ``[recourse]``
tables of a lender's catalog.

A suggestion is only honest if it is something the customer can do: pay down the amount owed (never up),
build savings (toward the safe end of the category order), wait (time only moves forward). So the catalog
declares, per feature, the one direction it may move in, its bounds (absolute, or quantiles of the
background), its cost (a unit cost, or by default the shift in the feature's background percentile, as in
Ustun, Spangher and Liu, "Actionable Recourse in Linear Classification", 2019), and the customer's words for
it. Features without an action, and every feature of a protected group, never move.

.. code-block:: toml

    [recourse]
    max_changes = 2          # at most this many features change in one suggestion (3 or 4: a MILP, HiGHS)
    time_limit = 2.0         # seconds per account for that MILP (more than two changes only)
    suggestions = 2          # the cheapest suggestion, then the cheapest with other features
    [recourse.targets]       # the score each adverse decision needed (higher_is = "risk": at or below)
    limit_decrease = 0.35

    [actions.credit_amount]
    label = "the amount you owe"     # lender phrase, translated like every other (context actions:<f>:label)
    direction = "decrease"           # "decrease" | "increase"; categories: "safer" (toward the start of order)
    min_quantile = 0.05              # or min = 250; max / max_quantile likewise
    step = 100                       # values are suggested on this grid (default: from the background)
    cost = 0.001                     # per unit (per category step); default: background percentile shift
    # with_time = true               # changes only with time ("in N months"); months/years, increase only
    # to = ["..."]                   # categories: the ones a customer can move to
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from explain._exceptions import CatalogError

__all__ = ["ACTION_DIRECTIONS", "ActionSpec", "RecoursePolicy", "parse_recourse"]

#: How an actionable feature may move: numbers down or up, categories toward the safe end of their order.
ACTION_DIRECTIONS: tuple[str, ...] = ("decrease", "increase", "safer")
_ACTION_KEYS = {"label", "actionable", "direction", "min", "max", "min_quantile", "max_quantile", "step", "cost",
                "with_time", "to"}
_RECOURSE_KEYS = {"max_changes", "suggestions", "budget", "targets", "time_limit"}
#: The most features one suggestion may change: the exact cell enumeration covers one and two, a MILP over
#: the trees (``_milp``) three and four; a letter naming more changes than that is no longer advice.
MAX_CHANGES_LIMIT = 4
DEFAULT_BUDGET = 250_000
DEFAULT_TIME_LIMIT = 2.0


@dataclass(frozen=True)
class ActionSpec:
    """How one raw feature may move when looking for recourse."""

    feature: str
    label: str
    direction: str
    actionable: bool = True
    min: float | None = None
    max: float | None = None
    min_quantile: float | None = None
    max_quantile: float | None = None
    step: float | None = None
    cost: float | None = None  # per unit or per category step; None: background percentile shift
    with_time: bool = False
    to: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The declared action, JSON-ready, as the certificate lists it."""
        out: dict[str, Any] = {"feature": self.feature, "direction": self.direction}
        for key in ("min", "max", "min_quantile", "max_quantile", "step", "cost"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.with_time:
            out["with_time"] = True
        if self.to:
            out["to"] = list(self.to)
        return out


@dataclass(frozen=True)
class RecoursePolicy:
    """The catalog's recourse settings: actions by feature, score targets by decision kind."""

    actions: Mapping[str, ActionSpec]
    targets: Mapping[str, float]
    max_changes: int = 2
    suggestions: int = 1
    budget: int = DEFAULT_BUDGET  # candidate evaluations per account: the bound on work, deterministic
    time_limit: float = DEFAULT_TIME_LIMIT  # seconds of MILP per account (max_changes > 2): a clock, recorded

    @property
    def enabled(self) -> bool:
        return any(a.actionable for a in self.actions.values())


def _number(table: Mapping[str, Any], key: str, where: str, *, low: float | None = None, high: float | None = None,
            positive: bool = False) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CatalogError(where, f"{key!r} must be a number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high) or (positive and value <= 0):
        bounds = "greater than 0" if positive else f"from {low} to {high}"
        raise CatalogError(where, f"{key!r} must be {bounds}, got {value!r}")
    return float(value)


def _action(feature: str, table: Any, features: Mapping[str, Any], group_of: Mapping[str, Any]) -> ActionSpec:
    where = f"action {feature!r}"
    if not isinstance(table, dict):
        raise CatalogError(where, "must be a table ([actions.<feature>])")
    extra = sorted(set(table) - _ACTION_KEYS)
    if extra:
        raise CatalogError(where, f"unknown key(s) {', '.join(map(repr, extra))}; allowed: {', '.join(sorted(_ACTION_KEYS))}")
    if feature not in features:
        raise CatalogError(where, "names a feature that belongs to no reason group")
    actionable = table.get("actionable", True)
    if not isinstance(actionable, bool):
        raise CatalogError(where, f"flag 'actionable' must be true or false, got {actionable!r}")
    group = group_of[feature]
    if actionable and group.protected:
        raise CatalogError(where, f"belongs to the protected group {group.code!r}; protected features never move")
    spec = features[feature]
    kind = spec.kind
    label = table.get("label")
    if actionable and (not isinstance(label, str) or not label):
        raise CatalogError(where, "needs a 'label': the customer's words for it, e.g. \"the amount you owe\"")
    direction = table.get("direction")
    if actionable:
        allowed = ("safer",) if kind == "category" else ("decrease", "increase")
        if direction not in allowed:
            raise CatalogError(where, f"'direction' must be {' or '.join(map(repr, allowed))} for a {kind}, got {direction!r}")
        if kind == "category" and not spec.order:
            raise CatalogError(where, "moves a category 'safer', so the feature needs an 'order' (safest first)")
    with_time = table.get("with_time", False)
    if not isinstance(with_time, bool):
        raise CatalogError(where, f"flag 'with_time' must be true or false, got {with_time!r}")
    if with_time and (kind not in ("months", "years") or direction != "increase"):
        raise CatalogError(where, "'with_time' is for months or years that only 'increase' as time passes")
    numeric_keys = [k for k in ("min", "max", "min_quantile", "max_quantile", "step") if k in table]
    if kind == "category" and numeric_keys:
        raise CatalogError(where, f"{numeric_keys[0]!r} is for numbers; a category lists the reachable ones in 'to'")
    to = table.get("to", [])
    if to and (kind != "category" or not isinstance(to, list) or not set(map(str, to)) <= set(spec.categories)):
        raise CatalogError(where, f"'to' lists categories of the feature, from {sorted(spec.categories)}")
    for pair in (("min", "min_quantile"), ("max", "max_quantile")):
        if all(k in table for k in pair):
            raise CatalogError(where, f"give {pair[0]!r} or {pair[1]!r}, not both")
    lo, hi = _number(table, "min", where), _number(table, "max", where)
    if lo is not None and hi is not None and lo > hi:
        raise CatalogError(where, f"'min' ({lo}) is above 'max' ({hi})")
    qlo = _number(table, "min_quantile", where, low=0.0, high=1.0)
    qhi = _number(table, "max_quantile", where, low=0.0, high=1.0)
    if qlo is not None and qhi is not None and qlo > qhi:
        raise CatalogError(where, f"'min_quantile' ({qlo}) is above 'max_quantile' ({qhi})")
    return ActionSpec(
        feature=feature, label=label or "", direction=direction or "none", actionable=actionable,
        min=lo, max=hi, min_quantile=qlo, max_quantile=qhi,
        step=_number(table, "step", where, positive=True), cost=_number(table, "cost", where, positive=True),
        with_time=with_time, to=tuple(map(str, to)),
    )


def parse_recourse(data: Mapping[str, Any], features: Mapping[str, Any], groups: Mapping[str, Any]) -> RecoursePolicy:
    """Validate the ``[actions.*]`` and ``[recourse]`` tables against the catalog's features and groups."""
    from explain.reasons._reasons import Decision

    group_of = {f: groups[spec.group] for f, spec in features.items()}
    raw_actions = data.get("actions", {})
    if not isinstance(raw_actions, dict):
        raise CatalogError("[actions]", "must be a table of [actions.<feature>] tables")
    actions = {f: _action(f, t, features, group_of) for f, t in raw_actions.items()}
    meta = data.get("recourse", {})
    extra = sorted(set(meta) - _RECOURSE_KEYS)
    if extra:
        raise CatalogError("[recourse]", f"unknown key(s) {', '.join(map(repr, extra))}; allowed: {', '.join(sorted(_RECOURSE_KEYS))}")
    max_changes = meta.get("max_changes", 2)
    if isinstance(max_changes, bool) or not isinstance(max_changes, int) or not 1 <= max_changes <= MAX_CHANGES_LIMIT:
        raise CatalogError("[recourse]", f"'max_changes' must be an integer from 1 to {MAX_CHANGES_LIMIT}, got {max_changes!r}")
    suggestions = meta.get("suggestions", 1)
    if isinstance(suggestions, bool) or not isinstance(suggestions, int) or not 1 <= suggestions <= 3:
        raise CatalogError("[recourse]", f"'suggestions' must be an integer from 1 to 3, got {suggestions!r}")
    budget = meta.get("budget", DEFAULT_BUDGET)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise CatalogError("[recourse]", f"'budget' must be a positive integer (candidate evaluations), got {budget!r}")
    time_limit = _number(meta, "time_limit", "[recourse]", positive=True)
    targets = meta.get("targets", {})
    if not isinstance(targets, dict):
        raise CatalogError("[recourse]", "'targets' must map decision kinds to scores")
    adverse = [d.value for d in Decision if d.is_adverse]
    for kind, value in targets.items():
        if kind not in adverse:
            raise CatalogError("[recourse.targets]", f"{kind!r} is not an adverse decision kind; expected one of {', '.join(adverse)}")
        _number(targets, kind, "[recourse.targets]")
    return RecoursePolicy(
        actions=MappingProxyType(actions),
        targets=MappingProxyType({k: float(v) for k, v in targets.items()}),
        max_changes=max_changes, suggestions=suggestions, budget=budget,
        time_limit=DEFAULT_TIME_LIMIT if time_limit is None else time_limit,
    )
