"""Leaf values of chosen trees for many rows: the numba kernels the recourse search needs.

A change of one or two features only moves the trees that split on them, so the search evaluates those
trees alone, with the attribution stage's flattened arrays and its routing (``_goes_left``), serially: one
account's cells are a few thousand rows, too few to pay for waking threads.

A pair of features is a grid (every cell of one × every cell of the other). Routing each grid row down each
tree costs rows × trees × depth; :func:`pair_leaf_values` instead walks each tree once, carrying the set of
cells of either feature still consistent with the path (the other features are the account's, fixed), and
writes a leaf's value into its box of the grid. The leaves reached partition the grid, so the work is one
walk per tree plus one write per grid row and tree, and the values are the same leaf values, bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from explain.attribution._treeshap import _goes_left

__all__ = ["cell_leaf_values", "leaf_values", "pair_leaf_values"]

_BLOCK_VALUES = 1 << 21  # grid rows × trees written per kernel call: bounds the memory of one block


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


@njit(cache=True)
def _pair_leaves(x0, owner, pos, va, vb, a_start, a_stop, trees, stack_size, tree_offsets, left, right, feature,
                 threshold, missing_left, is_categorical, bitset_idx, known_bitset_idx, bitsets, value):
    # owner[col]: 0 the account's fixed value, 1 a column of feature a, 2 of feature b; pos[col]: its
    # position among that feature's columns (va, vb: one row of prepared values per cell).
    na = a_stop - a_start
    nb = vb.shape[0]
    out = np.empty((na * nb, trees.shape[0]))
    nodes = np.empty(stack_size, dtype=np.int64)
    mask_a = np.empty((stack_size, na), dtype=np.bool_)
    mask_b = np.empty((stack_size, nb), dtype=np.bool_)
    for k in range(trees.shape[0]):
        sp = 0
        nodes[0] = tree_offsets[trees[k]]
        mask_a[0, :] = True
        mask_b[0, :] = True
        sp = 1
        while sp > 0:
            sp -= 1
            node = nodes[sp]
            if left[node] < 0:
                v = value[node]
                for i in range(na):
                    if mask_a[sp, i]:
                        row = i * nb
                        for j in range(nb):
                            if mask_b[sp, j]:
                                out[row + j, k] = v
                continue
            col = feature[node]
            who = owner[col]
            if who == 0:
                # The account's own value decides: one child, same cells.
                nodes[sp] = left[node] if _goes_left(node, x0[col], feature, threshold, missing_left,
                                                     is_categorical, bitset_idx, known_bitset_idx,
                                                     bitsets) else right[node]
                sp += 1
                continue
            # Split the cells of the feature this node reads: left ones go on the slot above, right stay.
            any_left = False
            any_right = False
            mask_a[sp + 1, :] = mask_a[sp, :]
            mask_b[sp + 1, :] = mask_b[sp, :]
            if who == 1:
                for i in range(na):
                    if mask_a[sp, i]:
                        go = _goes_left(node, va[a_start + i, pos[col]], feature, threshold, missing_left,
                                        is_categorical, bitset_idx, known_bitset_idx, bitsets)
                        mask_a[sp + 1, i] = go
                        mask_a[sp, i] = not go
                        any_left |= go
                        any_right |= not go
            else:
                for j in range(nb):
                    if mask_b[sp, j]:
                        go = _goes_left(node, vb[j, pos[col]], feature, threshold, missing_left,
                                        is_categorical, bitset_idx, known_bitset_idx, bitsets)
                        mask_b[sp + 1, j] = go
                        mask_b[sp, j] = not go
                        any_left |= go
                        any_right |= not go
            if any_right and any_left:
                nodes[sp] = right[node]
                nodes[sp + 1] = left[node]
                sp += 2
            elif any_left:
                mask_a[sp, :] = mask_a[sp + 1, :]
                mask_b[sp, :] = mask_b[sp + 1, :]
                nodes[sp] = left[node]
                sp += 1
            else:
                nodes[sp] = right[node]
                sp += 1
    return out


def pair_leaf_values(ens, x0: np.ndarray, cols_a: np.ndarray, va: np.ndarray, cols_b: np.ndarray,  # noqa: ANN001
                     vb: np.ndarray, trees: np.ndarray, depth: int):
    """Yield ``(a_start, a_stop, leaves)`` blocks: ``leaves[(a - a_start) * len(vb) + b, k]`` is the value of
    tree ``trees[k]`` for the prepared row ``x0`` with feature a's columns set to ``va[a]`` and feature b's to
    ``vb[b]`` (the same value :func:`leaf_values` gives that row)."""
    owner = np.zeros(ens.n_features, dtype=np.int64)
    pos = np.zeros(ens.n_features, dtype=np.int64)
    owner[cols_a], pos[cols_a] = 1, np.arange(cols_a.shape[0])
    owner[cols_b], pos[cols_b] = 2, np.arange(cols_b.shape[0])
    va = np.ascontiguousarray(va, dtype=np.float64)
    vb = np.ascontiguousarray(vb, dtype=np.float64)
    trees = np.ascontiguousarray(trees, dtype=np.int64)
    rows = max(1, _BLOCK_VALUES // max(1, vb.shape[0] * trees.shape[0]))
    for start in range(0, va.shape[0], rows):
        stop = min(va.shape[0], start + rows)
        yield start, stop, _pair_leaves(
            np.ascontiguousarray(x0, dtype=np.float64), owner, pos, va, vb, start, stop, trees, depth + 2,
            ens.tree_offsets, ens.left, ens.right, ens.feature, ens.threshold, ens.missing_left, ens.is_categorical,
            ens.bitset_idx, ens.known_bitset_idx, ens.bitsets, ens.value)


def cell_leaf_values(ens, x0: np.ndarray, cols: np.ndarray, values: np.ndarray, trees: np.ndarray,  # noqa: ANN001
                     depth: int) -> np.ndarray:
    """``(len(values), len(trees))``: each tree's value for the prepared row ``x0`` with one feature's columns
    set to each row of ``values`` (one walk per tree, as for a pair, with a single cell on the other side)."""
    empty = np.zeros(0, dtype=np.int64)
    blocks = [block for _, _, block in pair_leaf_values(ens, x0, cols, values, empty, np.zeros((1, 0)), trees, depth)]
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
