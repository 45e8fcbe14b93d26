"""The candidate values of one actionable feature, and what moving to each costs.

A tree ensemble is constant between consecutive split thresholds of a feature, and the cost of a move only
grows with its distance, so in each cell of the feature's thresholds the one value worth trying is the
allowed value nearest the customer's: the cheapest way into that cell. The search over these cells is
therefore exact. Values lie on the feature's grid (whole months, whole amounts), so a suggestion is
something a customer can actually do; the grid is declared (``step``) or read from the background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from explain.recourse._actions import ActionSpec

__all__ = ["FeatureMoves", "ThresholdCells", "background_step", "category_moves", "numeric_moves", "threshold_cells"]


@dataclass(frozen=True)
class FeatureMoves:
    """The candidate values of one feature for one account, cheapest first, with their costs."""

    feature: str
    values: tuple  # raw values (numbers or category strings)
    costs: np.ndarray  # float64, same length
    distances: np.ndarray  # tie-break: how far the value is from the customer's (normalised)
    months: tuple  # per value: the wait for a time-only feature, else None


def background_step(column: np.ndarray) -> float:
    """The finest decimal grid the background's values lie on (1 for whole numbers), at most 6 decimals."""
    values = column[np.isfinite(column)]
    for decimals in range(7):
        scaled = values * 10**decimals
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-9 * np.maximum(1.0, np.abs(scaled))):
            return 10.0**-decimals
    return 1e-6


def _decimals(step: float) -> int:
    return max(0, min(10, -math.floor(math.log10(step)) + 2))


def _floor_grid(u: float, step: float) -> float:
    """The largest grid value at or below ``u``."""
    d = _decimals(step)
    k = math.floor(u / step)
    while round((k + 1) * step, d) <= u:
        k += 1
    while round(k * step, d) > u:
        k -= 1
    return round(k * step, d)


def _above_grid(u: float, step: float) -> float:
    """The smallest grid value strictly above ``u``."""
    d = _decimals(step)
    k = math.floor(u / step) + 1
    while round((k - 1) * step, d) > u:
        k -= 1
    while round(k * step, d) <= u:
        k += 1
    return round(k * step, d)


def _ceil_grid(u: float, step: float) -> float:
    """The smallest grid value at or above ``u``."""
    v = _floor_grid(u, step)
    return v if v >= u else _above_grid(u, step)


def percentile(sorted_background: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mid-rank percentile of each value in the background (0..1): the default cost scale."""
    n = sorted_background.shape[0]
    below = np.searchsorted(sorted_background, values, side="left")
    at_or_below = np.searchsorted(sorted_background, values, side="right")
    return (below + at_or_below) / (2.0 * n)


@dataclass(frozen=True)
class ThresholdCells:
    """Per split cell of a feature, the grid value that enters it (computed once per solver): what does not
    depend on the account. ``keep`` says the value lies in its cell and within bounds; an account then only
    picks the cells on its allowed side."""

    thresholds: np.ndarray  # unique finite split thresholds, sorted
    values: np.ndarray  # per threshold: decrease, the largest grid value at or below it; increase, the
    # smallest grid value above it (or the lower bound's)
    keep: np.ndarray  # bool per threshold


def threshold_cells(action: ActionSpec, thresholds: np.ndarray, *, lo: float, hi: float, step: float) -> ThresholdCells:
    """The account-independent part of :func:`numeric_moves` for a feature whose thresholds are known."""
    t = np.unique(thresholds[np.isfinite(thresholds)])
    values = np.empty(t.shape[0])
    keep = np.zeros(t.shape[0], dtype=bool)
    for i in range(t.shape[0]):
        if action.direction == "decrease":
            v = _floor_grid(min(float(t[i]), hi), step)
            prev = float(t[i - 1]) if i > 0 else -math.inf
            keep[i] = v > prev and lo <= v
        else:
            v = _above_grid(float(t[i]), step) if lo <= t[i] else _ceil_grid(lo, step)
            nxt = float(t[i + 1]) if i + 1 < t.shape[0] else math.inf
            keep[i] = v <= nxt and v <= hi
        values[i] = v
    return ThresholdCells(t, values, keep)


def numeric_moves(action: ActionSpec, kind: str, x: float, *, sorted_background: np.ndarray, lo: float, hi: float,
                  step: float, thresholds: np.ndarray | None, scale: float,
                  cells: ThresholdCells | None = None) -> FeatureMoves:
    """Candidate values of a number: one per split cell on the allowed side of ``x`` (exact), or, without
    thresholds (a model we cannot read), every background value on that side (a search, not a proof).
    ``cells`` (from :func:`threshold_cells` on the same thresholds) saves recomputing the grid per account."""
    down = action.direction == "decrease"
    values: list[float] = []
    if thresholds is not None:
        if cells is None:
            cells = threshold_cells(action, thresholds, lo=lo, hi=hi, step=step)
        t, v = cells.thresholds, cells.values
        side = (t < x) & (v < x) if down else (t >= x) & (v > x)
        values = v[cells.keep & side].tolist()
    else:
        grid = {_floor_grid(float(v), step) for v in sorted_background}
        grid |= {_ceil_grid(lo, step)} if math.isfinite(lo) else set()
        grid |= {_floor_grid(hi, step)} if math.isfinite(hi) else set()
        values = [v for v in grid if lo <= v <= hi and (v < x if down else v > x)]
    values = sorted(set(values), key=lambda v: (abs(v - x), v))
    arr = np.asarray(values, dtype=np.float64)
    if action.cost is not None:
        costs = action.cost * np.abs(arr - x)
    else:
        costs = np.abs(percentile(sorted_background, arr) - percentile(sorted_background, np.array([x]))[0])
    months: tuple = (None,) * len(values)
    if action.with_time:
        per_unit = 12 if kind == "years" else 1
        months = tuple(int(math.ceil(round((v - x) * per_unit, 9))) for v in values)
    return FeatureMoves(action.feature, tuple(values), costs, np.abs(arr - x) / scale, months)


def category_moves(action: ActionSpec, x: str, *, order: tuple[str, ...], background: np.ndarray) -> FeatureMoves:
    """Candidate categories: every one on the safe side of ``x`` in the catalog's order (and in ``to``)."""
    rank = {c: i for i, c in enumerate(order)}
    here = rank.get(str(x))
    if here is None:
        return FeatureMoves(action.feature, (), np.zeros(0), np.zeros(0), ())
    allowed = [c for c in order[:here] if not action.to or c in action.to]
    allowed.sort(key=lambda c: here - rank[c])  # nearest first
    steps = np.asarray([here - rank[c] for c in allowed], dtype=np.float64)
    if action.cost is not None:
        costs = action.cost * steps
    else:
        ranks = np.sort(np.asarray([rank[str(v)] for v in background if str(v) in rank], dtype=np.float64))
        moved = percentile(ranks, np.asarray([rank[c] for c in allowed], dtype=np.float64))
        costs = np.abs(moved - percentile(ranks, np.array([float(here)]))[0])
    return FeatureMoves(action.feature, tuple(allowed), costs, steps / max(1, len(order) - 1), (None,) * len(allowed))
