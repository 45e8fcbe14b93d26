"""Leaf values of chosen trees for many rows: the one numba kernel the recourse search needs.

A change of one or two features only moves the trees that split on them, so the search evaluates those
trees alone, with the attribution stage's flattened arrays and its routing (``_goes_left``), serially: one
account's cells are a few thousand rows, too few to pay for waking threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from explain.attribution._treeshap import _goes_left

__all__ = ["leaf_values"]


@njit(cache=True)
def _leaf_values(X, trees, tree_offsets, left, right, feature, threshold, missing_left, is_categorical,
                 bitset_idx, known_bitset_idx, bitsets, value):
    out = np.empty((X.shape[0], trees.shape[0]))
    for i in range(X.shape[0]):
        for k in range(trees.shape[0]):
            node = tree_offsets[trees[k]]
            while left[node] >= 0:
                if _goes_left(node, X[i, feature[node]], feature, threshold, missing_left, is_categorical,
                              bitset_idx, known_bitset_idx, bitsets):
                    node = left[node]
                else:
                    node = right[node]
            out[i, k] = value[node]
    return out


def leaf_values(ens, X: np.ndarray, trees: np.ndarray) -> np.ndarray:  # noqa: ANN001 - a TreeEnsemble
    """``(rows, len(trees))``: the leaf value each listed tree gives each row of prepared inputs ``X``."""
    return _leaf_values(np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(trees, dtype=np.int64),
                        ens.tree_offsets, ens.left, ens.right, ens.feature, ens.threshold, ens.missing_left,
                        ens.is_categorical, ens.bitset_idx, ens.known_bitset_idx, ens.bitsets, ens.value)
