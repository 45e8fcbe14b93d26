"""Exact TreeSHAP for tree ensembles, written against the models' own routing.

The trees are read by ``_tree_models`` (flat arrays that route rows exactly like the library does) and
this module computes two flavours of exact Shapley values on them with numba kernels:

* interventional: baseline-Shapley values averaged over a background sample;
* path-dependent: the classic TreeSHAP game whose reference distribution is the
  training data as seen through the node sample counts ("cover").

The players need not be the model's columns: ``owners`` maps each column to a
player (a raw feature), so the columns of a one-hot encoded feature switch
together and a split on any of them is credited to the feature.

Both games are sums of per-leaf product games, whose Shapley values depend on
the explained row only through a bit mask (which of the leaf's players the row
agrees with).  :func:`prepare` tabulates them per leaf and mask once per model
(and background); :func:`explain_prepared` then sweeps each tree's splits once
per row to build every leaf's mask and adds table rows ("v2"-class TreeSHAP).
Path-dependent trees with leaves too deep for a table take a linear pass (``_linear_paths``: Linear
TreeSHAP, O(L D) per row and tree, no table); interventional tables are compressed by the leaf game's
symmetry (2 numbers per mask, ``_leaf_tables``); other leaves without a table are computed per call.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from explain.attribution._leaf_tables import (
    IV_SLOTS,
    _coalition_weights,
    _gauss_legendre,
    _iv_build_cost,
    _iv_patterns,
    _iv_tables,
    _leaf_fallback,
    _leaf_paths,
    _node_slots,
    _pd_tables,
    iv_table_leaf,
)
from explain.attribution._linear_paths import linear_plan, linear_tree_row
from explain.attribution._tree_models import (
    TreeEnsemble,
    _directions,
    _goes_left,
    _margin_kernel,
    _max_depth,
    _prepare_inputs,
    _tree_arrays,
    node_players,
    predict_margin,
)

__all__ = [
    "TreeEnsemble",
    "predict_margin",
    "PreparedTrees",
    "explain_prepared",
    "interventional_shap",
    "node_players",
    "prepare",
    "path_dependent_shap",
]

# Below this many rows the kernels run serially: waking a thread team costs more than the work, and in a
# threaded server several requests would each wake one.
_PARALLEL_MIN_ROWS = 64


_CHUNK = 64  # rows per block: one tree's tables are read by all of them while in cache

# The serial and the parallel driver are two functions on purpose: numba's on-disk cache is keyed by the
# Python function, not by the ``parallel`` flag, so ``njit(parallel=True)(f)`` and ``njit(f)`` of one ``f``
# load whichever was compiled first, for both, in every later process.


@njit(cache=True)
def _explain_block(X, phi, margin, lo, hi, mask_at, a, fac, tmp, gh, a_at, case_at, reach_at, tree_offsets, left, right, feature, threshold, missing_left, is_categorical, bitset_idx,
        known_bitset_idx, bitsets, value, node_slot, node_new, int_nodes, int_off, leaf_node, leaf_off, n_unique,
        uniq_player, tab_off, table, interventional, uniq_r, gl_u, gl_w, pat_off, pat_mask, pat_w, wx, wz,
        tree_linear, tree_m, node_player, lin_prev, lin_r0, lin_coef):
    """Rows ``lo:hi``, tree by tree and node by node, each node's work done for every row of the block.

    Per tree, the splits are swept in node order (children follow parents), each handing its children the
    leaf-masks under construction: the child a row goes to keeps the bit of the split's player, the other
    child clears it (branch-free: the direction is data, not control flow). Then every leaf reads each
    row's mask and adds its table row. A node's data is loaded once for the whole block, the rows are
    independent work, and one tree's tables stay in cache while the block reads them.
    """
    nb = hi - lo
    for i in range(lo, hi):
        margin[i] = 0.0
    for t in range(tree_offsets.shape[0] - 1):
        root = tree_offsets[t]
        if tree_linear[t]:
            for r in range(nb):
                margin[lo + r] += linear_tree_row(
                    X[lo + r], phi[lo + r], root, tree_m[t], int_nodes, int_off[t], int_off[t + 1], leaf_node,
                    leaf_off[t], leaf_off[t + 1], left, right, feature, threshold, is_categorical, missing_left,
                    bitset_idx, known_bitset_idx, bitsets, value, node_player, lin_prev, lin_r0, lin_coef, gh, a_at,
                    case_at, reach_at)
            continue
        for r in range(nb):
            mask_at[0, r] = 0
        for k in range(int_off[t], int_off[t + 1]):
            node = int_nodes[k]
            bit = np.int64(1) << node_slot[node]
            new = np.int64(node_new[node]) * bit
            f = feature[node]
            thr = threshold[node]
            plain = not is_categorical[node]
            src = node - root
            lc = left[node] - root
            rc = right[node] - root
            for r in range(nb):
                mask = mask_at[src, r] | new
                drop = mask & ~bit
                v = X[lo + r, f]
                if plain and not np.isnan(v):
                    go = v <= thr
                else:
                    go = _goes_left(node, v, feature, threshold, missing_left, is_categorical, bitset_idx,
                                    known_bitset_idx, bitsets)
                sel = -np.int64(go)
                mask_at[lc, r] = (mask & sel) | (drop & ~sel)
                mask_at[rc, r] = (drop & sel) | (mask & ~sel)
        for li in range(leaf_off[t], leaf_off[t + 1]):
            node = leaf_node[li]
            col = node - root
            d = n_unique[li]
            full = (np.int64(1) << d) - 1
            v = value[node]
            off = tab_off[li]
            for r in range(nb):
                mask = mask_at[col, r]
                if mask == full:
                    margin[lo + r] += v  # the one leaf of this tree that the row itself reaches
                if off >= 0 and interventional:
                    iv_table_leaf(phi[lo + r], table, off, mask, d, li, uniq_player)
                elif off >= 0:
                    base = off + mask * d
                    for s in range(d):
                        phi[lo + r, uniq_player[li, s]] += table[base + s]
                elif d > 0 and v != 0.0:
                    _leaf_fallback(phi[lo + r], mask, li, d, full, v, a, fac, tmp, uniq_player,
                                   interventional, uniq_r, gl_u, gl_w, pat_off, pat_mask, pat_w, wx, wz)


@njit(cache=True)
def _explain_rows_serial(X, phi, margin, max_tree_nodes, tree_offsets, left, right, feature, threshold, missing_left, is_categorical, bitset_idx,
        known_bitset_idx, bitsets, value, node_slot, node_new, int_nodes, int_off, leaf_node, leaf_off, n_unique,
        uniq_player, tab_off, table, interventional, uniq_r, gl_u, gl_w, pat_off, pat_mask, pat_w, wx, wz,
        tree_linear, tree_m, node_player, lin_prev, lin_r0, lin_coef):
    cap = uniq_r.shape[1] + 1
    mask_at = np.empty((max_tree_nodes, _CHUNK), dtype=np.int64)
    a = np.empty(cap, dtype=np.uint8)
    fac = np.empty(cap)
    tmp = np.empty(cap)
    gh = np.empty((max_tree_nodes, lin_coef.shape[2]))
    a_at = np.empty(max_tree_nodes, dtype=np.uint8)
    case_at = np.empty(max_tree_nodes, dtype=np.uint8)
    reach_at = np.empty(max_tree_nodes, dtype=np.uint8)
    n_rows = X.shape[0]
    for lo in range(0, n_rows, _CHUNK):
        _explain_block(X, phi, margin, lo, min(n_rows, lo + _CHUNK), mask_at, a, fac, tmp, gh, a_at, case_at,
                       reach_at, tree_offsets, left, right, feature, threshold, missing_left, is_categorical, bitset_idx,
        known_bitset_idx, bitsets, value, node_slot, node_new, int_nodes, int_off, leaf_node, leaf_off, n_unique,
        uniq_player, tab_off, table, interventional, uniq_r, gl_u, gl_w, pat_off, pat_mask, pat_w, wx, wz,
        tree_linear, tree_m, node_player, lin_prev, lin_r0, lin_coef)


@njit(cache=True, parallel=True)
def _explain_rows_parallel(X, phi, margin, max_tree_nodes, tree_offsets, left, right, feature, threshold, missing_left, is_categorical, bitset_idx,
        known_bitset_idx, bitsets, value, node_slot, node_new, int_nodes, int_off, leaf_node, leaf_off, n_unique,
        uniq_player, tab_off, table, interventional, uniq_r, gl_u, gl_w, pat_off, pat_mask, pat_w, wx, wz,
        tree_linear, tree_m, node_player, lin_prev, lin_r0, lin_coef):
    cap = uniq_r.shape[1] + 1
    n_rows = X.shape[0]
    n_chunks = (n_rows + _CHUNK - 1) // _CHUNK
    for c in prange(n_chunks):
        mask_at = np.empty((max_tree_nodes, _CHUNK), dtype=np.int64)
        a = np.empty(cap, dtype=np.uint8)
        fac = np.empty(cap)
        tmp = np.empty(cap)
        gh = np.empty((max_tree_nodes, lin_coef.shape[2]))
        a_at = np.empty(max_tree_nodes, dtype=np.uint8)
        case_at = np.empty(max_tree_nodes, dtype=np.uint8)
        reach_at = np.empty(max_tree_nodes, dtype=np.uint8)
        _explain_block(X, phi, margin, c * _CHUNK, min(n_rows, (c + 1) * _CHUNK), mask_at, a, fac, tmp, gh, a_at,
                       case_at, reach_at,
                       tree_offsets, left, right, feature, threshold, missing_left, is_categorical, bitset_idx,
        known_bitset_idx, bitsets, value, node_slot, node_new, int_nodes, int_off, leaf_node, leaf_off, n_unique,
        uniq_player, tab_off, table, interventional, uniq_r, gl_u, gl_w, pat_off, pat_mask, pat_w, wx, wz,
        tree_linear, tree_m, node_player, lin_prev, lin_r0, lin_coef)


# --------------------------------------------------------------------------- prepared explainers

# Per-leaf tables hold 2**d * d numbers for a leaf with d players on its path. Deep leaves (many players)
# are computed per call instead, and the total is capped so a deep forest cannot exhaust memory.
_TABLE_MAX_PLAYERS = 8
_TABLE_BUDGET = 1 << 25  # float64 entries, 256 MiB
_MAX_PLAYERS_PER_PATH = 62  # bit masks are int64
# Path-dependent trees whose deepest leaf has this many players are explained by the linear pass (tables
# cost less per call below it, measured), and so is any tree whose tables would not fit the budget.
_LINEAR_FROM_PLAYERS = 9
# Interventional leaves: compressed tables (2 * 2**d numbers) up to this many players, each built with at
# most _IV_BUILD_MAX steps (the ranked superset sum costs d (d + 1) 2**d).
_IV_TABLE_MAX_PLAYERS = 16
_IV_BUILD_MAX = 1 << 22
_IV_DIRECT_RATIO = 1.0  # build by enumerating patterns when that is cheaper than the transform
_FEW_ROWS = 8  # calls below this many rows take the linear pass on every tree it applies to (measured)
_LINEAR_PASS = True  # off: deep path-dependent leaves are computed per call (a cross-check)


@dataclass(frozen=True, eq=False)
class PreparedTrees:
    """Everything about one model (and, interventional, one background) that no explained row changes.

    Built once per loaded model, so both one account (the service) and a batch pay only for their rows.
    """

    ens: TreeEnsemble
    interventional: bool
    n_players: int
    node_slot: np.ndarray
    node_new: np.ndarray
    max_tree_nodes: int
    int_nodes: np.ndarray  # the splits, in node order
    int_off: np.ndarray  # (n_trees + 1,) range of each tree's splits in int_nodes
    leaf_off: np.ndarray  # (n_trees + 1,) range of each tree's leaves
    base: float  # expected value: cover-weighted (path-dependent) or the background's mean margin
    leaf_node: np.ndarray
    path_len: np.ndarray
    path_node: np.ndarray
    path_left: np.ndarray
    path_slot: np.ndarray
    n_unique: np.ndarray
    uniq_player: np.ndarray
    uniq_r: np.ndarray
    tab_off: np.ndarray
    table: np.ndarray
    gl_u: np.ndarray  # Gauss-Legendre nodes on [0, 1], row m: the m-point rule
    gl_w: np.ndarray
    pat_off: np.ndarray
    pat_mask: np.ndarray
    pat_w: np.ndarray
    wx: np.ndarray
    wz: np.ndarray
    node_player: np.ndarray  # (n_nodes,) the player credited for each split
    tree_linear: np.ndarray  # (n_trees,) bool: the tree is explained by the linear pass, not by tables
    tree_linear_few: np.ndarray  # (n_trees,) the same for calls of fewer than _FEW_ROWS rows
    tree_m: np.ndarray  # (n_trees,) quadrature points of the linear pass
    lin_prev: np.ndarray  # (n_nodes,) the linear pass's plan (see _linear_paths)
    lin_r0: np.ndarray
    lin_coef: np.ndarray

    @property
    def tabulated_share(self) -> float:
        """Share of the leaves answered from precomputed tables or the linear pass (the rest: per call)."""
        if not self.tab_off.size:
            return 1.0
        linear = np.repeat(self.tree_linear, np.diff(self.leaf_off))
        return float(np.mean((self.tab_off >= 0) | linear))

    @property
    def nbytes(self) -> int:
        """Memory held for this model beyond the trees themselves (tables, plans, background patterns)."""
        return int(sum(getattr(self, f.name).nbytes for f in dataclasses.fields(self)
                       if f.name != "ens" and isinstance(getattr(self, f.name), np.ndarray)))


def _pd_plan(n_unique: np.ndarray, leaf_off: np.ndarray, lin_ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Per tree, tables or the linear pass, whichever costs less per call; tables within the budget.

    A table answers a leaf with d additions, the linear pass costs about 3 ceil(d/2) flops per node (two
    nodes per leaf) but no memory: tables win up to ``_LINEAR_FROM_PLAYERS - 1`` players (measured with
    bench/attribution.py), and beyond the memory budget the linear pass takes over whatever the depth.
    """
    n_trees = leaf_off.shape[0] - 1
    tree_linear = np.zeros(n_trees, dtype=np.bool_)
    tab_off = np.full(n_unique.shape[0], -1, dtype=np.int64)
    sizes = (2 ** np.minimum(n_unique, 40)) * n_unique
    used = 0
    for t in range(n_trees):
        lo, hi = leaf_off[t], leaf_off[t + 1]
        d = int(n_unique[lo:hi].max(initial=0))
        need = int(sizes[lo:hi].sum())
        fits = d <= _TABLE_MAX_PLAYERS and used + need <= _TABLE_BUDGET
        if _LINEAR_PASS and lin_ok[t] and (d >= _LINEAR_FROM_PLAYERS or not fits):
            tree_linear[t] = True
            continue
        for li in range(lo, hi):  # a tree the linear pass cannot take: per leaf, as far as the budget goes
            if n_unique[li] <= _TABLE_MAX_PLAYERS and used + sizes[li] <= _TABLE_BUDGET:
                tab_off[li] = used
                used += int(sizes[li])
    return tree_linear, tab_off, used


def _iv_plan(n_unique: np.ndarray, pat_off: np.ndarray, pat_mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Which interventional leaves get a (compressed) table, within ``_TABLE_BUDGET``.

    A tabulated leaf costs d additions per call whatever the background; any other scans its distinct
    background patterns (at most ``min(n_background, 2**d)``) per call. So the leaves are tabulated in the
    order of per-call work saved per byte (patterns x players / table size), up to
    ``_IV_TABLE_MAX_PLAYERS`` players and ``_IV_BUILD_MAX`` build steps each.
    """
    tab_off = np.full(n_unique.shape[0], -1, dtype=np.int64)
    sizes = IV_SLOTS * (2 ** np.minimum(n_unique, 40))
    saved = np.diff(pat_off) * n_unique / sizes
    used = 0
    for li in np.argsort(-saved, kind="stable"):
        d = int(n_unique[li])
        if d == 0 or d > _IV_TABLE_MAX_PLAYERS or used + sizes[li] > _TABLE_BUDGET:
            continue
        if _iv_build_cost(d, pat_off[li], pat_off[li + 1], pat_mask) > _IV_BUILD_MAX:
            continue
        tab_off[li] = used
        used += int(sizes[li])
    return tab_off, used


def prepare(ens: TreeEnsemble, *, background=None, owners=None, n_players: int | None = None) -> PreparedTrees:
    """Prepare exact TreeSHAP for ``ens``: interventional against ``background``, else path-dependent.

    Parameters
    ----------
    ens : TreeEnsemble
    background : array of shape (n_background, n_features), optional
        Model-space reference rows; given, the interventional meaning is prepared.
    owners : array of shape (n_features,), optional
        The player (raw feature) of each model column; by default each column is its own player.
    n_players : int, optional
        Number of players (default ``max(owners) + 1``).
    """
    players = node_players(ens, owners)
    if n_players is None:
        n_players = int(players.max()) + 1 if players.size and players.max() >= 0 else ens.n_features
    max_d = _max_depth(ens)
    (leaf_node, path_len, path_node, path_left, path_slot, n_unique, uniq_player, uniq_r,
     reach, leaf_of_node) = _leaf_paths(ens.tree_offsets, ens.left, ens.right, players, ens.cover, max_d)
    if n_unique.size and n_unique.max() > _MAX_PLAYERS_PER_PATH:
        raise NotImplementedError(f"trees with more than {_MAX_PLAYERS_PER_PATH} players on one path")
    node_slot, node_new, ordered = _node_slots(ens.tree_offsets, ens.left, ens.right, players, max_d)
    if not ordered:
        raise NotImplementedError("trees whose children do not follow their parent in node order")
    int_nodes = np.flatnonzero(ens.left >= 0).astype(np.int64)
    trees = np.arange(ens.n_trees + 1)
    int_off = np.searchsorted(np.searchsorted(ens.tree_offsets, int_nodes, side="right") - 1, trees).astype(np.int64)
    leaf_off = np.searchsorted(np.searchsorted(ens.tree_offsets, leaf_node, side="right") - 1, trees).astype(np.int64)
    wx, wz = _coalition_weights(max(max_d, 1))
    gl_u, gl_w = _gauss_legendre(max_d)
    empty_i, empty_f = np.zeros(1, dtype=np.int64), np.zeros(0)
    if background is None:
        tree_m, lin_ok, lin_prev, lin_r0, lin_coef = linear_plan(
            ens.tree_offsets, ens.left, ens.right, players, ens.cover, n_unique, leaf_off, gl_u, gl_w)
        tree_linear, tab_off, size = _pd_plan(n_unique, leaf_off, lin_ok)
        # A few rows read one scattered table entry per leaf each (cache misses, nothing to share them with);
        # the linear pass streams its per-node numbers instead, so short calls take it wherever it applies.
        tree_linear_few = (lin_ok & _LINEAR_PASS) | tree_linear
        table = _pd_tables(ens.value, leaf_node, n_unique, uniq_r, gl_u, gl_w, tab_off, size)
        base = ens.base_offset + float(np.sum(ens.value[leaf_node] * reach))
        pat_off, pat_mask, pat_w = np.zeros(leaf_node.shape[0] + 1, dtype=np.int64), empty_i, empty_f
    else:
        tree_linear = np.zeros(ens.n_trees, dtype=np.bool_)  # the linear pass is the path-dependent game's
        tree_linear_few = tree_linear
        tree_m, lin_prev, lin_r0 = np.ones(ens.n_trees, np.int64), np.zeros(1, np.int64), np.zeros(1)
        lin_coef = np.zeros((1, 4, 1))
        Zp = _prepare_inputs(ens, background)
        if Zp.shape[0] == 0:
            raise ValueError("background must contain at least one row")
        (offs, left, right, feat, thr, ml, cat, bi, kbi, bits) = _tree_arrays(ens)
        zdir = _directions(Zp, left, feat, thr, ml, cat, bi, kbi, bits)
        pat_off, pat_mask, pat_w = _iv_patterns(np.ascontiguousarray(zdir.T), leaf_node, path_len, path_node,
                                                path_left, path_slot, n_unique)
        tab_off, size = _iv_plan(n_unique, pat_off, pat_mask)
        table = _iv_tables(ens.value, leaf_node, n_unique, pat_off, pat_mask, pat_w, wx, wz, tab_off, size,
                           _IV_DIRECT_RATIO)
        # Patterns are kept for the leaves without a table only (they are read per call there).
        keep = np.repeat(tab_off < 0, np.diff(pat_off))
        pat_mask, pat_w = np.ascontiguousarray(pat_mask[keep]), np.ascontiguousarray(pat_w[keep])
        pat_off = np.concatenate(([0], np.cumsum(np.where(tab_off < 0, np.diff(pat_off), 0)))).astype(np.int64)
        base = ens.base_offset + float(np.mean(
            _margin_kernel(Zp, offs, left, right, feat, thr, ml, cat, bi, kbi, bits, ens.value)))
    return PreparedTrees(
        ens=ens, interventional=background is not None, n_players=int(n_players), base=base,
        node_slot=node_slot, node_new=node_new, max_tree_nodes=int(np.diff(ens.tree_offsets).max(initial=1)),
        int_nodes=int_nodes, int_off=int_off, leaf_off=leaf_off,
        leaf_node=leaf_node, path_len=path_len, path_node=path_node, path_left=path_left, path_slot=path_slot,
        n_unique=n_unique, uniq_player=uniq_player, uniq_r=uniq_r, tab_off=tab_off, table=table, gl_u=gl_u, gl_w=gl_w,
        pat_off=pat_off, pat_mask=pat_mask, pat_w=pat_w, wx=wx, wz=wz, node_player=players,
        tree_linear=tree_linear, tree_linear_few=tree_linear_few, tree_m=tree_m, lin_prev=lin_prev, lin_r0=lin_r0, lin_coef=lin_coef,
    )


def explain_prepared(prep: PreparedTrees, X, *, prepared_inputs: bool = False) -> tuple[np.ndarray, float, np.ndarray]:
    """Exact Shapley values of ``X``'s rows, the base value, and each row's margin from the same trees.

    Returns
    -------
    phi : ndarray of shape (n_rows, n_players)
    base : float
    margin : ndarray of shape (n_rows,)
        The flattened model's own margin (``base + phi.sum(1)`` equals it up to rounding).
    """
    ens = prep.ens
    Xp = X if prepared_inputs else _prepare_inputs(ens, X)
    n = Xp.shape[0]
    phi = np.zeros((n, prep.n_players))
    margin = np.empty(n)
    # A few rows do not repay waking a thread team (it costs more than the work in a busy server).
    kernel = _explain_rows_parallel if n >= _PARALLEL_MIN_ROWS else _explain_rows_serial
    kernel(Xp, phi, margin, prep.max_tree_nodes, ens.tree_offsets, ens.left, ens.right, ens.feature, ens.threshold,
           ens.missing_left, ens.is_categorical, ens.bitset_idx, ens.known_bitset_idx, ens.bitsets, ens.value,
           prep.node_slot, prep.node_new, prep.int_nodes, prep.int_off, prep.leaf_node, prep.leaf_off, prep.n_unique,
           prep.uniq_player, prep.tab_off,
           prep.table, prep.interventional, prep.uniq_r, prep.gl_u, prep.gl_w, prep.pat_off, prep.pat_mask, prep.pat_w, prep.wx,
           prep.wz, prep.tree_linear_few if n < _FEW_ROWS else prep.tree_linear, prep.tree_m, prep.node_player, prep.lin_prev, prep.lin_r0, prep.lin_coef)
    return phi, prep.base, margin + ens.base_offset


# --------------------------------------------------------------------------- one-shot helpers


@functools.lru_cache(maxsize=8)
def _cached_path_dependent(ens: TreeEnsemble, owners: tuple | None) -> PreparedTrees:
    return prepare(ens, owners=None if owners is None else np.asarray(owners))


def interventional_shap(ens: TreeEnsemble, X, background, *, owners=None) -> tuple[np.ndarray, float]:
    """Exact interventional TreeSHAP against a background sample.

    ``phi[i]`` is the mean over background rows ``z`` of the baseline-Shapley
    values of ``v(S) = f(x_S, z_notS)``, where the players are the raw features
    given by ``owners`` (all of a player's columns switch together), so
    ``base + phi.sum(1)`` equals the margin of every row exactly.

    Parameters
    ----------
    ens : TreeEnsemble
    X : array of shape (n_rows, n_features)
        Rows to explain (model inputs, NaN allowed).
    background : array of shape (n_background, n_features), or PreparedTrees
        Reference rows (prepare them once with :func:`prepare` when calling repeatedly).
    owners : array of shape (n_features,), optional
        Player of each model column; each column its own player by default.

    Returns
    -------
    phi : ndarray of shape (n_rows, n_players)
    base : float
        Mean margin over ``background``.
    """
    prep = background if isinstance(background, PreparedTrees) else prepare(ens, background=background, owners=owners)
    phi, base, _ = explain_prepared(prep, X)
    return phi, base


def path_dependent_shap(ens: TreeEnsemble, X, *, owners=None) -> tuple[np.ndarray, float]:
    """Exact path-dependent (cover-weighted) TreeSHAP.

    Uses the classic TreeSHAP game, in which a player outside the coalition
    follows both children in proportion to their training sample counts, so
    no background data is needed.

    Parameters
    ----------
    ens : TreeEnsemble
    X : array of shape (n_rows, n_features)
        Rows to explain (model inputs, NaN allowed).
    owners : array of shape (n_features,), optional
        Player of each model column; each column its own player by default.

    Returns
    -------
    phi : ndarray of shape (n_rows, n_players)
    base : float
        Cover-weighted mean leaf value plus the model's baseline.
    """
    key = None if owners is None else tuple(int(o) for o in owners)
    phi, base, _ = explain_prepared(_cached_path_dependent(ens, key), X)
    return phi, base

