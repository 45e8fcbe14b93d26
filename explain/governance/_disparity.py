"""Explanation disparity: do the members of a protected group get different reasons than everyone else?

The protected attributes come from the accounts file (they are never reasons, and need not be model
inputs). For each decision kind, each protected column and each of its values, three kinds of figure are
compared between the accounts with that value and all the others: how often each reason group is among
the principal reasons, how often a counter-intuitive reason is given, and the mean grouped contribution of
every reason group. A gap is flagged when it exceeds the threshold and its bootstrap confidence interval
excludes 0.

The intervals come from a Poisson bootstrap (Hanley & MacGibbon 2006; Chamandy et al. 2012): each account
carries, in every replicate, an independent Poisson(1) weight, so replicates are sums that grow chunk by
chunk and memory does not grow with the portfolio. Chunk ``i``'s weights come from its own generator,
``numpy.random.default_rng(SeedSequence(seed, spawn_key=(i,))).poisson(1, (n, replicates))``, one row per
account of the chunk that has a good decision, in file order: the same seed gives the same intervals on any
engine and in any order of chunks. The interval is the 2.5% and 97.5% quantiles of the replicates' gaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DisparityTotals", "chunk_weights", "disparity_metrics"]

MISSING = "(missing)"


def chunk_weights(seed: int, chunk: int, rows: int, replicates: int) -> np.ndarray:
    """Poisson(1) bootstrap weights of chunk ``chunk``'s rows (rows x replicates), from the chunk's own generator."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chunk,)))
    return rng.poisson(1.0, size=(rows, replicates)).astype(np.float64)


def disparity_metrics(codes: Sequence[str], reason_codes: Sequence[str]) -> list[str]:
    """The names of the figures compared, in order: reason shares, counter-intuitive share, mean contributions."""
    return ([f"reason_share:{c}" for c in reason_codes] + ["counter_intuitive_share"]
            + [f"mean_contribution:{c}" for c in codes])


def metric_matrix(results: Sequence[Any], codes: Sequence[str], reason_codes: Sequence[str]) -> np.ndarray:
    """Per account (rows), the values whose means are compared (columns as :func:`disparity_metrics`)."""
    from explain.governance._explained import group_matrix

    out = np.zeros((len(results), len(reason_codes) + 1 + len(codes)))
    position = {c: j for j, c in enumerate(reason_codes)}
    for i, result in enumerate(results):
        for code in result.codes:
            if code in position:
                out[i, position[code]] = 1.0
        out[i, len(reason_codes)] = float(result.counter_intuitive)
    out[:, len(reason_codes) + 1:] = group_matrix(results, codes)
    return out


@dataclass
class _Cell:
    """Sums for the accounts of one (kind, column, value): exact, and per bootstrap replicate."""

    n: int
    sums: np.ndarray
    weights: np.ndarray  # per replicate
    weighted: np.ndarray  # replicates x metrics

    def merge(self, other: _Cell) -> None:
        self.n += other.n
        self.sums += other.sums
        self.weights += other.weights
        self.weighted += other.weighted


@dataclass
class DisparityTotals:
    """Sums per (decision kind, protected column, value); :meth:`to_dict` turns them into gaps and intervals."""

    metrics: tuple[str, ...]
    replicates: int
    seed: int
    share_threshold: float
    contribution_threshold: float
    cells: dict[tuple[str, str, str], _Cell] = field(default_factory=dict)

    def add(self, kinds: Sequence[str], groups: dict[str, Sequence[Any]], values: np.ndarray, weights: np.ndarray) -> None:
        """Count accounts: their decision ``kinds``, protected ``groups`` (column -> value per account), metric
        ``values`` (accounts x metrics) and bootstrap ``weights`` (accounts x replicates)."""
        kinds = np.asarray(kinds, dtype=object)
        for column, raw in groups.items():
            labels = np.array([MISSING if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in raw],
                              dtype=object)
            for kind in sorted(set(kinds.tolist())):
                for label in sorted(set(labels[kinds == kind].tolist())):
                    mask = (kinds == kind) & (labels == label)
                    w, x = weights[mask], values[mask]
                    cell = _Cell(int(mask.sum()), x.sum(axis=0), w.sum(axis=0), w.T @ x)
                    key = (kind, column, label)
                    if key in self.cells:
                        self.cells[key].merge(cell)
                    else:
                        self.cells[key] = cell

    def merge(self, other: DisparityTotals) -> None:
        for key, cell in other.cells.items():
            if key in self.cells:
                self.cells[key].merge(cell)
            else:
                self.cells[key] = _Cell(cell.n, cell.sums.copy(), cell.weights.copy(), cell.weighted.copy())

    def _threshold(self, metric: str) -> float:
        return self.contribution_threshold if metric.startswith("mean_contribution:") else self.share_threshold

    def to_dict(self) -> dict[str, Any]:
        by_kind: dict[str, dict[str, dict[str, Any]]] = {}
        flags = []
        columns = sorted({(k, c) for k, c, _ in self.cells})
        for kind, column in columns:
            labels = sorted(v for k, c, v in self.cells if (k, c) == (kind, column))
            cells = [self.cells[(kind, column, v)] for v in labels]
            n_all = sum(c.n for c in cells)
            sums_all = np.sum([c.sums for c in cells], axis=0)
            weights_all = np.sum([c.weights for c in cells], axis=0)
            weighted_all = np.sum([c.weighted for c in cells], axis=0)
            out = by_kind.setdefault(kind, {}).setdefault(column, {})
            for label, cell in zip(labels, cells, strict=True):
                rest = n_all - cell.n
                entry: dict[str, Any] = {"accounts": cell.n, "others": rest, "metrics": {}}
                out[label] = entry
                if not cell.n or not rest:
                    continue  # nothing to compare with
                mine = cell.sums / cell.n
                theirs = (sums_all - cell.sums) / rest
                with np.errstate(invalid="ignore", divide="ignore"):
                    boot = (cell.weighted / cell.weights[:, None]
                            - (weighted_all - cell.weighted) / (weights_all - cell.weights)[:, None])
                low, high = np.nanquantile(boot, [0.025, 0.975], axis=0)
                for j, metric in enumerate(self.metrics):
                    gap = float(mine[j] - theirs[j])
                    excludes_zero = bool(low[j] > 0 or high[j] < 0)
                    flagged = abs(gap) > self._threshold(metric) and excludes_zero
                    entry["metrics"][metric] = {"value": float(mine[j]), "others": float(theirs[j]), "gap": gap,
                                                "ci": [float(low[j]), float(high[j])], "flagged": flagged}
                    if flagged:
                        flags.append({"decision": kind, "column": column, "value": label, "metric": metric,
                                      "gap": gap, "ci": [float(low[j]), float(high[j])]})
        return {
            "method": "Poisson bootstrap, 95% percentile interval of the gap (value minus all other accounts)",
            "seed": self.seed, "replicates": self.replicates,
            "thresholds": {"share": self.share_threshold, "contribution": self.contribution_threshold},
            "by_kind": by_kind, "flags": flags,
        }
