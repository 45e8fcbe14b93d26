"""Recourse with more than two changes: a mixed-integer program over the trees' leaves, solved by HiGHS.

Enumerating every triple of cells is out of reach (a few hundred cells per feature), so for ``max_changes``
above two the solver states the tree ensemble as a MILP, as OCEAN (Parmentier and Vidal, ICML 2021) and
Mišić ("Optimization of tree ensembles", 2020) do, and lets HiGHS (``scipy.optimize.milp``) prove the
optimum:

- a binary ``z[f, o]`` per feature and option (each cell the search would try, and "unchanged"), exactly
  one option per feature; the cost is the sum of the chosen options' costs; at most ``k`` features change;
- per tree that splits on a moved feature, a leaf indicator ``y[t, l]`` (continuous: the splits force it)
  for each leaf the account can still reach, summing to one; at each split on a moved feature the leaves
  on one side are bounded by the options that go that way (``cum`` variables: options in value order, so
  a threshold split reads one prefix sum);
- the margin, the trees' constant part plus ``sum v[t, l] * y[t, l]``, on the target's side of the margin
  that the target score maps to.

HiGHS works to tolerances, so nothing it returns is taken on trust: the chosen cells are re-scored through
the flattened trees, and a choice that misses the target exactly is cut off and the program solved again.
The objective is scaled so that HiGHS's absolute gap (1e-6) is far below any difference of costs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

__all__ = ["MilpOutcome", "TreeProgram", "margin_bound"]

_COST_SCALE = 1e6  # the objective HiGHS sees, per unit of cost: its 1e-6 absolute gap becomes 1e-12
_MAX_CUTS = 20  # re-solves after a tolerance artefact, before saying the search was not conclusive


@dataclass
class MilpOutcome:
    """One solve: ``status`` is ``optimal``, ``infeasible`` (proven) or ``time_limit`` (not proven either
    way; ``choice`` is then the best found, if any). ``choice`` maps feature position to option index."""

    status: str
    choice: dict[int, int] | None = None
    margin: float | None = None
    solves: int = 0
    seconds: float = 0.0


class TreeProgram:
    """The MILP of one account: its features' options and the trees they move, built once, solved for
    several objectives and side constraints (the cheapest change reaching the target; the best score any
    change reaches; "not a superset of a suggestion already kept")."""

    def __init__(self, ens, x0: np.ndarray, options: list[np.ndarray], columns: list[np.ndarray],  # noqa: ANN001
                 costs: list[np.ndarray], trees: np.ndarray, margin_of) -> None:  # noqa: ANN001
        from explain.attribution._treeshap import _goes_left

        self._margin_of = margin_of  # exact margin of a choice, through the flattened trees
        n_feat = len(options)
        # Variables: z (per feature: its options, then "unchanged"), cum (per feature: prefix sums of z with
        # the options in value order of the feature's one column; categories are read option by option),
        # y (the reachable leaves of the trees the moved features split).
        self.n_options = [o.shape[0] for o in options]
        owner = np.full(ens.n_features, -1, dtype=np.int64)
        for p, cols in enumerate(columns):
            owner[cols] = p
        values = [np.vstack([opts, x0[cols][None, :]]) for opts, cols in zip(options, columns, strict=True)]
        order = [np.argsort(v[:, 0], kind="stable") if v.shape[1] == 1 else np.arange(v.shape[0]) for v in values]
        z_start, start = [], 0
        for v in values:
            z_start.append(start)
            start += v.shape[0]
        n_z = start
        cum_start = []
        for v in values:
            cum_start.append(start)
            start += v.shape[0] - 1  # prefix sums of lengths 1..n-1 (0 and n are the constants 0 and 1)
        rows: list[tuple[list[int], list[float], float, float]] = []
        for p in range(n_feat):
            cols_z = [z_start[p] + int(i) for i in order[p]]
            for j in range(values[p].shape[0] - 1):  # cum_j = cum_{j-1} + z[order[j]]
                idx = [cum_start[p] + j, cols_z[j]] + ([cum_start[p] + j - 1] if j else [])
                rows.append((idx, [1.0, -1.0] + ([-1.0] if j else []), 0.0, 0.0))
            rows.append((list(range(z_start[p], z_start[p] + values[p].shape[0])), [1.0] * values[p].shape[0],
                         1.0, 1.0))
        const = ens.base_offset
        moved_trees = set(np.asarray(trees).tolist())
        leaf_value: list[float] = []
        left, right, feature, threshold = ens.left, ens.right, ens.feature, ens.threshold
        for t in range(ens.n_trees):
            root = int(ens.tree_offsets[t])
            if t not in moved_trees:
                node = root
                while left[node] >= 0:
                    go = _goes_left(node, x0[feature[node]], feature, threshold, ens.missing_left,
                                    ens.is_categorical, ens.bitset_idx, ens.known_bitset_idx, ens.bitsets)
                    node = left[node] if go else right[node]
                const += float(ens.value[node])
                continue
            # Walk the part of the tree the account can reach, carrying each moved feature's options still
            # consistent with the path; record the splits that go both ways and the leaves reached.
            masks0 = tuple(np.ones(v.shape[0], dtype=bool) for v in values)
            leaves: list[int] = []  # positions in leaf_value of this tree's reachable leaves
            splits: list[tuple[int, np.ndarray, list[int], list[int]]] = []

            def walk(node: int, masks: tuple, leaves=leaves, splits=splits) -> list[int]:  # noqa: ANN001
                if left[node] < 0:
                    leaves.append(len(leaf_value))
                    leaf_value.append(float(ens.value[node]))
                    return [leaves[-1]]
                col = int(feature[node])
                p = int(owner[col])
                if p < 0:
                    go = _goes_left(node, x0[col], feature, threshold, ens.missing_left, ens.is_categorical,
                                    ens.bitset_idx, ens.known_bitset_idx, ens.bitsets)
                    return walk(int(left[node] if go else right[node]), masks)
                k = int(np.flatnonzero(columns[p] == col)[0])
                go = _go_left(ens, node, values[p][:, k], _goes_left)
                here = masks[p]
                lm, rm = here & go, here & ~go
                if not rm.any():
                    return walk(int(left[node]), masks)
                if not lm.any():
                    return walk(int(right[node]), masks)
                below_left = walk(int(left[node]), masks[:p] + (lm,) + masks[p + 1:])
                below_right = walk(int(right[node]), masks[:p] + (rm,) + masks[p + 1:])
                splits.append((p, go, below_left, below_right))
                return below_left + below_right

            walk(root, masks0)
            if len(leaves) == 1:
                const += leaf_value.pop()
                continue
            rows.append(([-1 - i for i in leaves], [1.0] * len(leaves), 1.0, 1.0))  # y indices fixed up below
            for p, go, below_left, below_right in splits:
                for side, below in ((go, below_left), (~go, below_right)):
                    idx, coef, ub = [-1 - i for i in below], [1.0] * len(below), 0.0
                    sel = side[order[p]]  # in value order
                    n = sel.shape[0]
                    j = int(sel.sum())
                    if sel[:j].all():  # a prefix: sum of z over it = cum_{j-1}
                        if j < n:
                            idx.append(cum_start[p] + j - 1)
                            coef.append(-1.0)
                        else:
                            ub = 1.0
                    elif sel[n - j:].all():  # a suffix: 1 - cum_{n-j-1}
                        idx.append(cum_start[p] + n - j - 1)
                        coef.append(1.0)
                        ub = 1.0
                    else:
                        for i in np.flatnonzero(side).tolist():
                            idx.append(z_start[p] + i)
                            coef.append(-1.0)
                    rows.append((idx, coef, -np.inf, ub))
        n_y = len(leaf_value)
        y_start = start
        self.n_vars = start + n_y
        self.const = const
        self.leaf_value = np.asarray(leaf_value)
        self.z_start = z_start
        self.y_start = y_start
        self.n_z = n_z
        self.costs = costs
        self.n_feat = n_feat
        self.n_rows = len(rows)
        data, indices, indptr, lb, ub = [], [], [0], [], []
        for idx, coef, lo, hi in rows:
            indices.extend(y_start + (-1 - i) if i < 0 else i for i in idx)
            data.extend(coef)
            indptr.append(len(indices))
            lb.append(lo)
            ub.append(hi)
        from scipy.sparse import csr_array

        self._A = csr_array((np.asarray(data), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
                            shape=(len(rows), self.n_vars))
        self._lb, self._ub = np.asarray(lb), np.asarray(ub)

    # -- pieces of the program --------------------------------------------------------------------------
    def _unchanged(self, p: int) -> int:
        return self.z_start[p] + self.n_options[p]

    def _row(self, entries: dict[int, float]) -> np.ndarray:
        row = np.zeros(self.n_vars)
        for i, v in entries.items():
            row[i] = v
        return row

    def solve(self, *, minimize: str, changes: tuple[int, int], margin_bound: tuple[str, float] | None = None,
              no_superset: list[list[int]] = (), cost_below: float | None = None, time_limit: float,
              exact_meets=None) -> MilpOutcome:  # noqa: ANN001
        """Minimise the cost (``minimize="cost"``) or move the margin as far as possible toward the target
        (``"margin_down"``/``"margin_up"``) with between ``changes[0]`` and ``changes[1]`` features changed.

        ``margin_bound`` is ``("<=" | ">=", m)``; ``no_superset`` lists feature sets that must not all change;
        ``cost_below``: only changes that cost at most this. ``exact_meets(margin)`` re-checks a choice."""
        from scipy.optimize import Bounds, LinearConstraint, milp

        extra_rows, extra_lb, extra_ub = [], [], []
        unchanged = {self._unchanged(p): 1.0 for p in range(self.n_feat)}
        # at least lo and at most hi features change: n - hi <= sum(unchanged) <= n - lo
        extra_rows.append(self._row(unchanged))
        extra_lb.append(self.n_feat - changes[1])
        extra_ub.append(self.n_feat - changes[0])
        for feats in no_superset:
            extra_rows.append(self._row({self._unchanged(p): 1.0 for p in feats}))
            extra_lb.append(1.0)
            extra_ub.append(np.inf)
        cost_vec = np.zeros(self.n_vars)
        for p in range(self.n_feat):
            cost_vec[self.z_start[p]:self.z_start[p] + self.n_options[p]] = self.costs[p] * _COST_SCALE
        if cost_below is not None:
            extra_rows.append(cost_vec)
            extra_lb.append(-np.inf)
            extra_ub.append(cost_below * _COST_SCALE + 1e-6)
        y = slice(self.y_start, self.n_vars)
        if margin_bound is not None:
            row = np.zeros(self.n_vars)
            row[y] = self.leaf_value
            sense, m = margin_bound
            extra_rows.append(row)
            extra_lb.append(m - self.const if sense == ">=" else -np.inf)
            extra_ub.append(m - self.const if sense == "<=" else np.inf)
        if minimize == "cost":
            c = cost_vec
        else:
            c = np.zeros(self.n_vars)
            c[y] = self.leaf_value if minimize == "margin_down" else -self.leaf_value
        integrality = np.zeros(self.n_vars, dtype=np.uint8)
        integrality[:self.n_z] = 1
        upper = np.ones(self.n_vars)
        if cost_below is not None and changes[0] >= 1:
            # An option that, with the cheapest moves of the fewest other features the program must still
            # change, costs more than the bound cannot be part of the answer: fix it off (HiGHS's presolve then
            # drops it). Exact: costs are never negative.
            for p in range(self.n_feat):
                others = [float(c.min()) for q, c in enumerate(self.costs) if q != p and c.size]
                need = sum(sorted(others)[:max(changes[0] - 1, 0)])
                over = self.costs[p] + need > cost_below + 1e-12
                upper[self.z_start[p]:self.z_start[p] + self.n_options[p]][over] = 0.0
        from scipy.sparse import csr_array, vstack

        cuts: list[np.ndarray] = []
        started = time.perf_counter()
        outcome = MilpOutcome("time_limit")
        for _ in range(_MAX_CUTS + 1):
            left = time_limit - (time.perf_counter() - started)
            if left <= 0:
                break
            A = vstack([self._A, csr_array(np.vstack(extra_rows + cuts))])
            lb = np.concatenate([self._lb, extra_lb, [-np.inf] * len(cuts)])
            ub = np.concatenate([self._ub, extra_ub, [self.n_feat - 1.0] * len(cuts)])
            res = milp(c, integrality=integrality, bounds=Bounds(0.0, upper),
                       constraints=LinearConstraint(A, lb, ub), options={"time_limit": left, "mip_rel_gap": 0.0})
            outcome.solves += 1
            if res.status == 2:
                outcome.status = "infeasible"
                break
            if res.x is None:
                outcome.status = "time_limit"
                break
            choice = self._decode(res.x)
            margin = self._margin_of(choice)
            outcome.choice, outcome.margin = choice, margin
            if exact_meets is not None and not exact_meets(margin):
                # A tolerance artefact: exclude exactly this choice and solve again.
                cut = np.zeros(self.n_vars)
                for p in range(self.n_feat):
                    cut[self.z_start[p] + choice.get(p, self.n_options[p])] = 1.0
                cuts.append(cut)
                outcome.choice = outcome.margin = None
                continue
            outcome.status = "optimal" if res.status == 0 else "time_limit"
            break
        outcome.seconds = time.perf_counter() - started
        return outcome

    def _decode(self, x: np.ndarray) -> dict[int, int]:
        choice = {}
        for p in range(self.n_feat):
            block = x[self.z_start[p]:self.z_start[p] + self.n_options[p] + 1]
            o = int(np.argmax(block))
            if o < self.n_options[p]:
                choice[p] = o
        return choice


def _go_left(ens, node: int, v: np.ndarray, goes_left) -> np.ndarray:  # noqa: ANN001
    """Which of the option values ``v`` go left at ``node``: NumPy for a threshold, the routing itself for a
    categorical split."""
    if not ens.is_categorical[node]:
        return np.where(np.isnan(v), bool(ens.missing_left[node]), v <= ens.threshold[node])
    return np.array([goes_left(node, float(u), ens.feature, ens.threshold, ens.missing_left, ens.is_categorical,
                               ens.bitset_idx, ens.known_bitset_idx, ens.bitsets) for u in v], dtype=bool)


def margin_bound(score_from_margin, target: float, higher_is: str) -> tuple[str, float]:  # noqa: ANN001
    """The margin the target score maps to: the largest margin whose score is at or below ``target``
    (``higher_is="risk"``) or the smallest at or above it, found on the floats by bisection."""
    risk = higher_is == "risk"

    def meets(m: float) -> bool:
        with np.errstate(over="ignore"):
            s = float(np.asarray(score_from_margin(np.array([m])))[0])
        return s <= target if risk else s >= target

    lo, hi = -1.0, 1.0
    while meets(lo) != risk and lo > -1e300:
        lo *= 2.0
    while meets(hi) == risk and hi < 1e300:
        hi *= 2.0
    # meets(lo) == risk and meets(hi) != risk (risk: lo meets, hi does not; better: the other way round).
    for _ in range(2200):
        mid = lo + (hi - lo) / 2.0
        if mid in (lo, hi):
            break
        if meets(mid) == risk:
            lo = mid
        else:
            hi = mid
    return ("<=", lo) if risk else (">=", hi)

