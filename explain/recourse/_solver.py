"""The exact recourse search: the cheapest change of at most two actionable features that reaches the target.

For a tree ensemble every feature's candidate values are the cells between its split thresholds
(:mod:`explain.recourse._cells`); changing features ``f`` and ``g`` moves only the trees that split on them,
and a tree that splits on ``f`` alone moves with ``f`` alone. So the margin of every single change and every
pair is assembled from per-feature leaf values plus a joint pass over the few trees that split on both,
which makes the enumeration complete (every cell and pair of cells is scored) and cheap. Candidates are then
taken in a fixed total order (cost, number of features changed, distance, feature order, value order); the
first that reaches the target is the optimum, and it is re-scored by the model itself before it is returned.
For other models the same candidates (background values instead of cells) are scored by the model directly.

The work per account is bounded by ``budget`` candidate evaluations, in cost order: a suggestion found within
the budget is still optimal; a search the budget stopped says so (``budget_exhausted``), never "infeasible".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from explain._exceptions import InvalidInputError
from explain.attribution._tree_models import _max_depth
from explain.recourse._actions import ActionSpec, RecoursePolicy
from explain.recourse._cells import (
    FeatureMoves,
    ThresholdCells,
    background_step,
    category_moves,
    numeric_moves,
    threshold_cells,
)
from explain.recourse._result import Certificate, Change, Recourse, Suggestion

__all__ = ["Account", "RecourseSolver", "find_recourse"]

_ROUND = 12  # costs compared after rounding, so float noise never decides between equal costs
_FIRST_CHUNK = 64  # candidates scored in the first pass (then twice as many each pass)


class Account:
    """One validated account: its values in model order and, made only when first needed, its model-space row
    and its one-row frame (the search needs the frame only to re-score candidates with the model itself).

    From a frame (:meth:`of_frame`), or from plain values already explained (the service's one-row path, which
    builds no frame unless a candidate must be re-scored by the model)."""

    def __init__(self, values: tuple[Any, ...] | list[Any], frame_of: Callable[[], pd.DataFrame],
                 transform: Callable[[pd.DataFrame], np.ndarray], model_row: np.ndarray | None = None,
                 features: dict[str, Any] | None = None) -> None:
        self.values = tuple(values)
        self._frame_of = frame_of
        self._transform = transform
        self._features = features  # plain values by name: changed rows are then encoded without a frame
        if model_row is not None:
            self.__dict__["model_row"] = model_row

    def changed_rows(self, changes: list[tuple[Change, ...]]) -> np.ndarray | None:
        """Model-space rows of the account once per list of changes, each applied (the same floats as
        transforming :meth:`RecourseSolver._apply`'s frame); None without plain values or a row transform."""
        row_of = getattr(self._transform, "row", None)
        if self._features is None or row_of is None:
            return None
        rows = []
        for applied in changes:
            values = dict(self._features)
            for c in applied:
                values[c.feature] = c.value
            rows.append(row_of(values))
        return np.vstack(rows)

    @classmethod
    def of_frame(cls, frame: pd.DataFrame, transform: Callable[[pd.DataFrame], np.ndarray]) -> Account:
        return cls(frame.iloc[0].tolist(), lambda: frame, transform)

    @cached_property
    def frame(self) -> pd.DataFrame:
        return self._frame_of()

    @cached_property
    def model_row(self) -> np.ndarray:
        return self._transform(self.frame)


@dataclass(frozen=True)
class _Feature:
    """An actionable feature resolved against the model and its background, once per solver."""

    action: ActionSpec
    index: int  # raw feature position
    kind: str
    columns: np.ndarray  # model-space columns it owns
    trees: np.ndarray  # trees that split on any of them
    thresholds: np.ndarray | None  # raw-space split thresholds (numbers, exact search), else None
    lo: float
    hi: float
    step: float
    scale: float
    sorted_background: np.ndarray | None
    order: tuple[str, ...]
    background: np.ndarray
    encoding: dict | None = None  # category -> its model-space columns, encoded once
    cells: ThresholdCells | None = None  # the split cells' grid values, resolved once

    def moves(self, x: Any) -> FeatureMoves:
        if self.kind == "category":
            return category_moves(self.action, str(x), order=self.order, background=self.background)
        return numeric_moves(self.action, self.kind, float(x), sorted_background=self.sorted_background, lo=self.lo,
                             hi=self.hi, step=self.step, thresholds=self.thresholds, scale=self.scale,
                             cells=self.cells)


class RecourseSolver:
    """Recourse for one model bundle's explainer and catalog, built once and reused for every account.

    Parameters
    ----------
    explainer
        The bundle's :class:`~explain.Explainer`: its model adapter, flattened trees and background.
    policy
        The catalog's :class:`RecoursePolicy` (actions, targets, max_changes, suggestions, budget).
    kinds
        Feature value kinds from the catalog (``money``, ``months``, ``category``...).
    orders
        Category orders (safest first) from the catalog.
    """

    def __init__(self, explainer: Any, policy: RecoursePolicy, *, kinds: dict[str, str],
                 orders: dict[str, tuple[str, ...]]) -> None:
        self.policy = policy
        self.higher_is = explainer.higher_is
        self._adapter = explainer._adapter
        self._ens = explainer._ensemble
        background = explainer.background
        if background is None:
            raise InvalidInputError("background", "a background sample (bounds and costs are read from it)", None)
        raw = self._adapter.raw_features
        self.exact = self._ens is not None and self._adapter.owners is not None
        self.method = "tree_cells" if self.exact else "model_search"
        bg_model = self._adapter.transform(background) if self.exact else None
        node_tree = None
        if self.exact:
            sizes = np.diff(self._ens.tree_offsets)
            node_tree = np.repeat(np.arange(sizes.shape[0]), sizes)
        features: list[_Feature] = []
        for j, name in enumerate(raw):
            action = policy.actions.get(name)
            if action is None or not action.actionable:
                continue  # no action declared (immutable) or declared not actionable: never moves
            kind = kinds.get(name, "number")
            column = background[name].to_numpy()
            columns = np.flatnonzero(np.asarray(self._adapter.owners) == j) if self.exact else np.array([j])
            trees = np.zeros(0, dtype=np.int64)
            thresholds = None
            if self.exact:
                split = np.isin(self._ens.feature, columns)
                trees = np.unique(node_tree[split]).astype(np.int64)
                if kind != "category":
                    thresholds = self._raw_thresholds(columns, column, bg_model, split)
            if kind == "category":
                order = orders.get(name, ())
                encoding = None
                if self.exact and order:
                    # Each category's model columns, once: the other columns do not change them.
                    probe = background.iloc[[0] * len(order)].reset_index(drop=True)
                    probe[name] = np.asarray(order, dtype=object)
                    encoded = self._adapter.transform(probe)[:, columns]
                    encoding = {c: encoded[k] for k, c in enumerate(order)}
                features.append(_Feature(action, j, kind, columns, trees, None, -np.inf, np.inf, 1.0, 1.0, None,
                                         order, column.astype(object), encoding))
                continue
            values = column.astype(np.float64)
            lo = action.min if action.min is not None else (
                float(np.quantile(values, action.min_quantile)) if action.min_quantile is not None else -np.inf)
            hi = action.max if action.max is not None else (
                float(np.quantile(values, action.max_quantile)) if action.max_quantile is not None else np.inf)
            step = action.step or background_step(values)
            q75, q25 = np.quantile(values, [0.75, 0.25])
            scale = float(q75 - q25) or float(np.ptp(values)) or 1.0
            cells = None if thresholds is None else threshold_cells(action, thresholds, lo=lo, hi=hi, step=step)
            features.append(_Feature(action, j, kind, columns, trees, thresholds, lo, hi, step, scale,
                                     np.sort(values), (), column, cells=cells))
        self._features = tuple(features)
        self._pairs: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.n_trees = self._ens.n_trees if self.exact else 0
        self._depth = _max_depth(self._ens) if self.exact else 0
        self._threads = None

    def _raw_thresholds(self, columns: np.ndarray, raw: np.ndarray, bg_model: np.ndarray,
                        split: np.ndarray) -> np.ndarray | None:
        """Split thresholds in the raw feature's own units: only where its one model column is the raw value
        itself (passthrough), shown on the background; otherwise the search falls back to background values."""
        if columns.shape[0] != 1 or (self._ens.is_categorical & split).any():
            return None
        if not np.array_equal(bg_model[:, columns[0]], raw.astype(np.float64)):
            return None
        categories = self._ens.input_categories
        if categories and categories[columns[0]] is not None:
            return None  # the trees see codes, not the value
        return np.sort(self._ens.threshold[split])

    # -- public -------------------------------------------------------------------------------------------
    @property
    def actions(self) -> tuple[ActionSpec, ...]:
        """The actions the search may use, in model feature order."""
        return tuple(f.action for f in self._features)

    def target_for(self, decision: str, target: float | None = None) -> float | None:
        return float(target) if target is not None else self.policy.targets.get(decision)

    def meets(self, score: np.ndarray | float, target: float) -> np.ndarray | bool:
        return score <= target if self.higher_is == "risk" else score >= target

    def solve(self, account: pd.DataFrame | Account, decision: str, *, target: float | None = None) -> Recourse:
        """Recourse for one validated account (a one-row frame in model column order, or an :class:`Account`)."""
        started = time.perf_counter()
        if not isinstance(account, Account):
            account = Account.of_frame(account, self._adapter.transform)
        result = self._solve(account, decision, target)
        return Recourse(**{**result.__dict__, "elapsed_ms": (time.perf_counter() - started) * 1000.0})

    # -- search -------------------------------------------------------------------------------------------
    def _model_margin(self, frame: pd.DataFrame) -> np.ndarray:
        if self._adapter.family == "agnostic":
            return np.asarray(self._adapter.raw_margin(frame), dtype=np.float64)
        return np.asarray(self._adapter.margin_fn(self._adapter.transform(frame)), dtype=np.float64)

    def _score(self, margin: np.ndarray) -> np.ndarray:
        return np.asarray(self._adapter.score_from_margin(np.asarray(margin, dtype=np.float64)), dtype=np.float64)

    def _solve(self, account: Account, decision: str, target_override: float | None) -> Recourse:
        from explain.reasons._reasons import Decision

        kind = Decision.parse(decision)
        x0t = account.model_row if self.exact else None
        score = float(self._score(self._current_margin(account, x0t))[0])
        target = self.target_for(kind.value, target_override)
        base = {"decision": kind.value, "score": score, "target": target, "higher_is": self.higher_is,
                "method": self.method, "exact": self.exact}
        if not kind.is_adverse:
            raise InvalidInputError("decision", "an adverse decision kind (recourse is for what was lost)", kind.value)
        if target is None:
            return Recourse(status="no_target", evaluated=0, **base)
        if self.meets(score, target):
            return Recourse(status="target_met", evaluated=0, **base)
        row = account.values
        moves = [(f, f.moves(row[f.index])) for f in self._features]
        moves = [(f, m) for f, m in moves if m.values]
        k = self.policy.max_changes
        if not moves:
            return Recourse(status="no_actions", evaluated=0, certificate=self._certificate(0, score, (), k if self.exact else min(k, 2)),
                            **base)
        state = self._margin_state(account, moves, x0t)
        found = self._enumerate(account, row, moves, state, target, score, base, min(k, 2))
        if k > 2 and self.exact:
            from explain.recourse._more import with_milp

            found = with_milp(self, found, row, moves, state, target)
        return found

    def _enumerate(self, account: Account, row: tuple[Any, ...], moves: list, state: Any, target: float,
                   score: float, base: dict, max_changes: int) -> Recourse:
        """Every single change and pair of changes, scored in cost order: the exact optimum over them."""
        cands = self._candidates(moves, max_changes)
        total = cands["cost"].shape[0]
        order = np.lexsort((cands["b"], cands["a"], cands["g"], cands["f"], np.round(cands["dist"], _ROUND),
                            cands["n"], np.round(cands["cost"], _ROUND)))
        limit = min(self.policy.budget, total)
        suggestions: list[Suggestion] = []
        taken: list[frozenset] = []  # feature sets of the suggestions kept or awaiting verification
        picked: list[tuple[int, tuple[Change, ...]]] = []
        seen_scores: list[np.ndarray] = []
        seen: list[np.ndarray] = []  # the candidates those scores belong to
        any_feasible = False
        position = {f.action.feature: p for p, (f, _) in enumerate(moves)}
        evaluated, consumed, chunk = 0, 0, _FIRST_CHUNK
        # In cost order, a growing chunk at a time: the first feasible candidates are the optimum, and most
        # accounts stop after the first chunk; an infeasible account is scored through to the end. Once a
        # suggestion is kept, candidates using all of its features are not scored: they cannot be another.
        while consumed < limit and len(suggestions) < self.policy.suggestions:
            chosen = order[consumed:min(limit, consumed + chunk)]
            consumed += chosen.shape[0]
            chunk *= 2
            for kept in taken:
                p, q = sorted(position[f] for f in kept) + [None] * (2 - len(kept))
                fsel, gsel = cands["f"][chosen], cands["g"][chosen]
                covers = (fsel == p) | (gsel == p) if q is None else ((fsel == p) & (gsel == q))
                chosen = chosen[~covers]
            if not chosen.size:
                continue
            scores = self._score(self._margins(state, moves, cands, chosen))
            seen_scores.append(scores)
            seen.append(chosen)
            feasible = chosen[self.meets(scores, target)]
            any_feasible |= bool(feasible.size)
            for i in feasible.tolist():
                if len(suggestions) + len(picked) == self.policy.suggestions:
                    break
                changes = self._changes(row, moves, cands, i)
                features = frozenset(c.feature for c in changes)
                if any(t <= features for t in taken):
                    continue  # the same features again, or a superset: a costlier variant, not another way
                picked.append((i, changes))
                taken.append(features)
            evaluated += chosen.shape[0]
            if picked and (len(suggestions) + len(picked) == self.policy.suggestions or consumed >= limit):
                self._verify(account, state, moves, cands, picked, target, suggestions, taken)
                picked = []
        if picked:  # the budget ran out with candidates still unverified
            self._verify(account, state, moves, cands, picked, target, suggestions, taken)
        if suggestions:
            return Recourse(status="found", evaluated=evaluated, suggestions=tuple(suggestions), **base)
        scores = np.concatenate(seen_scores) if seen_scores else np.array([score])
        candidates = np.concatenate(seen) if seen else np.array([-1])
        best = int(np.argmin(scores) if self.higher_is == "risk" else np.argmax(scores))
        best_score = float(scores[best])
        better = best_score < score if self.higher_is == "risk" else best_score > score
        cert = self._certificate(total, best_score if better else score,
                                 self._changes(row, moves, cands, int(candidates[best])) if better else (), max_changes)
        status = ("unverified" if any_feasible else "infeasible") if consumed == total else "budget_exhausted"
        return Recourse(status=status, evaluated=evaluated, certificate=cert, **base)

    def _verify(self, account: Account, state: Any, moves: list, cands: dict, picked: list, target: float,
                suggestions: list[Suggestion], taken: list[frozenset]) -> None:
        """Re-score the picked candidates with the model itself, in one call, and keep those it confirms;
        a candidate the model does not confirm is never shown (its features may be suggested again)."""
        if self.exact:
            verified = self._verified_scores(state, [self._choice(cands, i) for i, _ in picked])
        else:
            lists = [changes for _, changes in picked]
            rows = account.changed_rows(lists) if self._adapter.family != "agnostic" else None
            if rows is not None:  # the model itself, on rows encoded without a frame
                verified = self._score(np.asarray(self._adapter.margin_fn(rows), dtype=np.float64))
            else:
                verified = self._score(self._model_margin(self._apply(account.frame, lists)))
        for (i, changes), value in zip(picked, verified.tolist(), strict=True):
            if self.meets(value, target):
                suggestions.append(Suggestion(changes, float(cands["cost"][i]), float(value)))
            else:
                taken.remove(frozenset(c.feature for c in changes))
        suggestions.sort(key=lambda s: (round(s.cost, _ROUND), len(s.changes)))

    @staticmethod
    def _choice(cands: dict, i: int) -> dict[int, int]:
        """Candidate ``i`` as feature position -> value position."""
        out = {int(cands["f"][i]): int(cands["a"][i])}
        if cands["g"][i] >= 0:
            out[int(cands["g"][i])] = int(cands["b"][i])
        return out

    def _rows(self, state: dict, choices: list[dict[int, int]], *, prepared: bool = False) -> np.ndarray:
        """The account's model input rows with each choice's columns as encoded for the search (``prepared``:
        in the value space the flattened trees split on)."""
        x0, singles = (state["x0"], state["singles"]) if prepared else (state["x0t"], state["singles_t"])
        rows = np.repeat(x0, len(choices), axis=0)
        for k, choice in enumerate(choices):
            for p, v in choice.items():
                cols = state["columns"][p]
                rows[k, cols] = singles[state["slices"][p].start + v, cols]
        return rows

    def _verified_scores(self, state: dict, choices: list[dict[int, int]]) -> np.ndarray:
        """The model's own scores (its predict, not the flattened trees) of the account with each choice."""
        with self._one_thread():
            return self._score(np.asarray(self._adapter.margin_fn(self._rows(state, choices)), dtype=np.float64))

    def _choice_margin(self, state: dict, choice: dict[int, int]) -> float:
        """The exact margin of one choice through the flattened trees (every tree, one row)."""
        from explain.recourse._kernels import leaf_values

        ens = self._ens
        row = self._rows(state, [choice], prepared=True)
        return float(ens.base_offset + leaf_values(ens, row, np.arange(ens.n_trees, dtype=np.int64)).sum())

    def _one_thread(self) -> Any:
        """OpenMP limited to one thread for this call: the model scores a row or two, and waking a thread team
        costs more than that (scikit-learn's HistGradientBoosting: 3 ms serial against 30 ms on two busy
        cores). The limit is the calling thread's own (``omp_set_num_threads``), so a server's other requests
        are untouched; the controller is built once, after the model's libraries are loaded."""
        from threadpoolctl import ThreadpoolController

        if self._threads is None:
            self._threads = ThreadpoolController()
        return self._threads.limit(limits=1, user_api="openmp")

    def _current_margin(self, account: Account, x0t: np.ndarray | None = None) -> np.ndarray:
        """The account's margin: through the flattened trees (proven equal to the model's when the explainer
        was built), else the model's own."""
        if not self.exact:
            return self._model_margin(account.frame)
        from explain.attribution._treeshap import _prepare_inputs
        from explain.recourse._kernels import leaf_values

        ens = self._ens
        rows = _prepare_inputs(ens, account.model_row if x0t is None else x0t)
        return ens.base_offset + leaf_values(ens, rows, np.arange(ens.n_trees, dtype=np.int64)).sum(axis=1)

    def _certificate(self, candidates: int, best_score: float, best_changes: tuple, max_changes: int) -> Certificate:
        actions = []
        for f in self._features:
            entry = f.action.to_dict()
            if f.kind != "category":
                entry["bounds"] = [None if not np.isfinite(f.lo) else round(float(f.lo), 10),
                                   None if not np.isfinite(f.hi) else round(float(f.hi), 10)]
                entry["cells"] = None if f.thresholds is None else int(np.unique(f.thresholds).shape[0] + 1)
            actions.append(entry)
        return Certificate(tuple(actions), max_changes, candidates, best_score, tuple(best_changes))

    @staticmethod
    def _candidates(moves: list, max_changes: int) -> dict[str, np.ndarray]:
        """Every single change and (up to max_changes) every pair, as parallel arrays: feature positions
        ``f``, ``g`` (-1: none) and value positions ``a``, ``b`` (-1: unchanged)."""
        parts = []
        for p, (_, m) in enumerate(moves):
            n = len(m.values)
            parts.append((np.full(n, p), np.full(n, -1), np.arange(n), np.full(n, -1), m.costs, m.distances, 1))
        return_pairs = []
        for p in range(len(moves) if max_changes >= 2 else 0):
            for q in range(p + 1, len(moves)):
                mp, mq = moves[p][1], moves[q][1]
                a, b = np.meshgrid(np.arange(len(mp.values)), np.arange(len(mq.values)), indexing="ij")
                a, b = a.ravel(), b.ravel()
                return_pairs.append((np.full(a.shape[0], p), np.full(a.shape[0], q), a, b,
                                     mp.costs[a] + mq.costs[b], mp.distances[a] + mq.distances[b], 2))
        out: dict[str, list] = {k: [] for k in ("f", "g", "a", "b", "cost", "dist", "n")}
        for f, g, a, b, cost, dist, n in parts + return_pairs:
            for key, arr in zip(("f", "g", "a", "b", "cost", "dist"), (f, g, a, b, cost, dist), strict=True):
                out[key].append(np.asarray(arr))
            out["n"].append(np.full(len(a), n))
        return {k: np.concatenate(v) for k, v in out.items()}

    def _margins(self, state: Any, moves: list, cands: dict, chosen: np.ndarray) -> np.ndarray:
        if self.exact:
            return self._tree_margins(state, moves, cands, chosen)
        return self._searched_margins(state, moves, cands, chosen)

    def _margin_state(self, account: Account, moves: list, x0t: np.ndarray | None = None) -> Any:
        """What scoring any candidate of this account needs, computed once: for trees, the account's and
        every single change's prepared rows and per-tree leaf values; otherwise the account itself."""
        if not self.exact:
            return account.frame
        from explain.attribution._treeshap import _prepare_inputs
        from explain.recourse._kernels import cell_leaf_values, leaf_values

        ens = self._ens
        x0t = account.model_row if x0t is None else x0t
        sizes = [len(m.values) for _, m in moves]
        singles_t = np.repeat(x0t, sum(sizes), axis=0)
        slices, start = [], 0
        for (f, m), n in zip(moves, sizes, strict=True):
            singles_t[start:start + n][:, f.columns] = self._encoded(f, m.values, account)
            slices.append(slice(start, start + n))
            start += n
        x0 = _prepare_inputs(ens, x0t)
        singles = _prepare_inputs(ens, singles_t)
        all0 = leaf_values(ens, x0, np.arange(ens.n_trees, dtype=np.int64))
        m0 = float(ens.base_offset + all0.sum())
        leaves, leaves0, delta = [], [], []
        for (f, _), sl in zip(moves, slices, strict=True):
            lv = cell_leaf_values(ens, x0[0], f.columns, singles[sl][:, f.columns], f.trees, self._depth)
            l0 = all0[0][f.trees]
            leaves.append(lv)
            leaves0.append(l0)
            delta.append(lv.sum(axis=1) - l0.sum())
        return {"x0t": x0t, "x0": x0, "m0": m0, "singles_t": singles_t, "singles": singles, "slices": slices,
                "leaves": leaves, "leaves0": leaves0, "delta": delta, "grids": {},
                "columns": [f.columns for f, _ in moves]}

    def _encoded(self, f: _Feature, values: tuple, account: Account) -> np.ndarray:
        """The model-space columns of feature ``f`` for each value: a number that is its own column is
        itself; a category's columns were encoded once when the solver was built; anything else is encoded
        by the model's own transform."""
        if f.kind != "category" and f.thresholds is not None:
            return np.asarray(values, dtype=np.float64)[:, None]
        if f.encoding is not None:
            return np.stack([f.encoding[v] for v in values])
        one = account.frame
        frame = one.loc[one.index.repeat(len(values))].reset_index(drop=True)
        frame[f.action.feature] = np.asarray(values, dtype=object if f.kind == "category" else np.float64)
        return self._adapter.transform(frame)[:, f.columns]

    def _shared_trees(self, fp: _Feature, fq: _Feature) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The trees that split on both features, and their positions in each feature's tree list (cached)."""
        key = (fp.index, fq.index)
        found = self._pairs.get(key)
        if found is None:
            shared = np.intersect1d(fp.trees, fq.trees)
            found = self._pairs[key] = (shared, np.searchsorted(fp.trees, shared), np.searchsorted(fq.trees, shared))
        return found

    def _tree_margins(self, state: dict, moves: list, cands: dict, chosen: np.ndarray) -> np.ndarray:
        m0, delta = state["m0"], state["delta"]
        out = np.empty(chosen.shape[0])
        fsel, gsel = cands["f"][chosen], cands["g"][chosen]
        asel, bsel = cands["a"][chosen], cands["b"][chosen]
        one = gsel < 0
        for p in np.unique(fsel[one]).tolist():
            hit = one & (fsel == p)
            out[hit] = m0 + delta[p][asel[hit]]
        two = np.flatnonzero(~one)
        if two.size:
            pair_key = fsel[two] * len(moves) + gsel[two]
            for key in np.unique(pair_key).tolist():
                idx = two[pair_key == key]
                p, q = divmod(key, len(moves))
                grid = self._pair_grid(state, moves, p, q)
                out[idx] = grid[asel[idx] * len(moves[q][1].values) + bsel[idx]]
        return out

    def _pair_grid(self, state: dict, moves: list, p: int, q: int) -> np.ndarray:
        """The margin of every pair of cells of features ``p`` and ``q`` (a-major), computed once per account
        and pair: the singles' margins plus, for the trees that split on both, one walk per tree over the
        grid (:func:`~explain.recourse._kernels.pair_leaf_values`) in place of routing every grid row."""
        from explain.recourse._kernels import pair_leaf_values

        grids = state["grids"]
        grid = grids.get((p, q))
        if grid is not None:
            return grid
        m0, delta, leaves, leaves0 = state["m0"], state["delta"], state["leaves"], state["leaves0"]
        fp, fq = moves[p][0], moves[q][0]
        na, nb = len(moves[p][1].values), len(moves[q][1].values)
        a = np.repeat(np.arange(na), nb)
        b = np.tile(np.arange(nb), na)
        grid = m0 + delta[p][a] + delta[q][b]
        shared, in_p, in_q = self._shared_trees(fp, fq)
        if shared.size:
            singles, slices = state["singles"], state["slices"]
            joint = np.empty(na * nb)
            for start, stop, block in pair_leaf_values(
                    self._ens, state["x0"][0], fp.columns, singles[slices[p]][:, fp.columns], fq.columns,
                    singles[slices[q]][:, fq.columns], shared, self._depth):
                joint[start * nb:stop * nb] = block.sum(axis=1)
            # Trees on both features were counted once with each alone; replace them by the joint values.
            alone_p = leaves[p][:, in_p].sum(axis=1)
            alone_q = leaves[q][:, in_q].sum(axis=1)
            grid += joint - alone_p[a] - alone_q[b] + leaves0[p][in_p].sum()
        grids[(p, q)] = grid
        return grid

    def _searched_margins(self, account: pd.DataFrame, moves: list, cands: dict, chosen: np.ndarray) -> np.ndarray:
        frame = account.loc[account.index.repeat(chosen.shape[0])].reset_index(drop=True)
        for key_f, key_v in (("f", "a"), ("g", "b")):
            fsel, vsel = cands[key_f][chosen], cands[key_v][chosen]
            for p, (f, m) in enumerate(moves):
                hit = np.flatnonzero(fsel == p)
                if hit.size:
                    name = f.action.feature
                    column = frame[name].to_numpy(dtype=object if f.kind == "category" else np.float64, copy=True)
                    column[hit] = np.asarray(m.values, dtype=column.dtype)[vsel[hit]]
                    frame[name] = column
        return self._model_margin(frame)

    def _changes(self, row: tuple[Any, ...], moves: list, cands: dict, i: int) -> tuple[Change, ...]:
        return self._choice_changes(row, moves, self._choice(cands, i))

    @staticmethod
    def _choice_changes(row: tuple[Any, ...], moves: list, choice: dict[int, int]) -> tuple[Change, ...]:
        """The changes of a choice, in feature order."""
        out = []
        for p in sorted(choice):
            f, m = moves[p]
            v = choice[p]
            current = row[f.index]
            current = str(current) if f.kind == "category" else float(current)
            out.append(Change(f.action.feature, f.kind, current, m.values[v], f.action.direction, float(m.costs[v]),
                              m.months[v]))
        return tuple(out)

    @staticmethod
    def _apply(account: pd.DataFrame, changes: list[tuple[Change, ...]]) -> pd.DataFrame:
        """The account once per list of changes, each row with its changes applied."""
        frame = account.loc[account.index.repeat(len(changes))].reset_index(drop=True)
        for name in sorted({c.feature for row in changes for c in row}):
            categorical = any(c.kind == "category" for row in changes for c in row if c.feature == name)
            column = frame[name].to_numpy(dtype=object if categorical else np.float64, copy=True)
            for k, row in enumerate(changes):
                for c in row:
                    if c.feature == name:
                        column[k] = c.value
            frame[name] = column
        return frame


def find_recourse(bundle: Any, account: pd.DataFrame, decision: str, *, target: float | None = None) -> Recourse:
    """Recourse for one account of a :class:`~explain.ModelBundle` (the catalog's actions and targets).

    ``target`` overrides the catalog's score target for this decision kind.
    """
    solver = bundle.recourse_solver()
    explainer = bundle.explainer()
    checked = explainer._checked(account)
    if len(checked) != 1:
        raise InvalidInputError("account", "exactly one account", f"{len(checked)} rows")
    return solver.solve(checked, decision, target=target)


def find_recourse_row(bundle: Any, one: Any, decision: str, *, target: float | None = None) -> Recourse:
    """:func:`find_recourse` for an account the one-row path explained (``explain.attribution._one_row``):
    its values and model-space row reused, its frame built (and checked) only if the model must re-score."""
    solver = bundle.recourse_solver()
    explainer = bundle.explainer()
    account = Account(one.values, lambda: explainer._checked(pd.DataFrame([dict(one.features)])),
                      explainer._adapter.transform, model_row=one.model_row, features=dict(one.features))
    return solver.solve(account, decision, target=target)
