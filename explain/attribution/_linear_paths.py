"""Path-dependent TreeSHAP of a whole tree in one pass per row, for leaves too deep to tabulate.

A leaf's path-dependent game is a product game: with ``f_g(u) = r_g (1 - u) + a_g u`` per player g of its
path (``a_g``: the row satisfies g's conditions; ``r_g``: their cover ratios), player s earns
``(a_s - r_s) * int_0^1 F(u) / f_s(u) du`` where ``F = v * prod_g f_g`` (see ``_leaf_tables._pd_leaf``).
The integrand is a polynomial of degree ``d - 1``, integrated exactly by Gauss-Legendre quadrature with
``m = ceil(d / 2)`` nodes, so it is enough to know ``F`` at those m points.

Linear TreeSHAP (Yu et al., NeurIPS 2022) shares that work across leaves: going down, each node carries
the product of its path's factors at the m points (one multiplication per point: the edge's factor,
divided by the factor it replaces when its player was met higher up); going up, each node sums the
products of the leaves below it, and the edge into it credits its player with that sum times
``w_j (a - r) / f(u_j)``, minus the same for the player's earlier edge (the leaves below now carry the
newer factor: the two terms telescope). Cost per row and tree: about ``3 m`` flops per node, ``O(L D)``,
and memory ``4 m`` numbers per node whatever the depth, against ``2**d * d`` per leaf for a table.

The edge's factors only take three forms per row (player unmet above / met and kept / met and lost), so
their ratios and credit weights are tabulated per node once per model: a call multiplies and adds only.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from explain.attribution._tree_models import _goes_left

# Per node and quadrature point: R1, R2 (factor ratios, a = 0 / 1 under a kept earlier edge) and
# K1, K2 (credit weights, same cases). The case "earlier edge lost" has ratio r_c / r' and no credit.
_R1, _R2, _K1, _K2 = 0, 1, 2, 3


@njit(cache=True)
def linear_plan(tree_offsets, left, right, node_player, cover, n_unique, leaf_off, gl_u, gl_w):
    """Per node: the earlier edge of its parent's player (child node, -1 if none), the no-credit ratio,
    and the ``(4, m)`` coefficients; per tree: m and whether the plan applies (every edge has cover)."""
    n_nodes = left.shape[0]
    n_trees = tree_offsets.shape[0] - 1
    parent = np.full(n_nodes, -1, dtype=np.int64)
    for node in range(n_nodes):
        if left[node] >= 0:
            parent[left[node]] = node
            parent[right[node]] = node
    tree_m = np.ones(n_trees, dtype=np.int64)
    ok = np.ones(n_trees, dtype=np.bool_)
    for t in range(n_trees):
        d = 0
        for li in range(leaf_off[t], leaf_off[t + 1]):
            d = max(d, n_unique[li])
        tree_m[t] = max(1, (d + 1) // 2)
    big_m = 1
    for t in range(n_trees):
        big_m = max(big_m, tree_m[t])
    prev = np.full(n_nodes, -1, dtype=np.int64)
    r = np.ones(n_nodes)
    r0 = np.ones(n_nodes)
    coef = np.zeros((n_nodes, 4, big_m))
    for t in range(n_trees):
        m = tree_m[t]
        for c in range(tree_offsets[t], tree_offsets[t + 1]):
            p = parent[c]
            if p < 0:
                continue
            s = node_player[p]
            ratio = cover[c] / cover[p] if cover[p] > 0 else 0.0
            anc_child, anc = p, parent[p]
            while anc >= 0:
                if node_player[anc] == s:
                    prev[c] = anc_child
                    break
                anc_child, anc = anc, parent[anc]
            rp = r[prev[c]] if prev[c] >= 0 else 1.0
            rc = rp * ratio
            r[c] = rc
            if not rc > 0.0:
                ok[t] = False  # an edge no training row took: its factor vanishes and cannot be divided out
                continue
            r0[c] = rc / rp
            for j in range(m):
                u = gl_u[m, j]
                w = gl_w[m, j]
                fp1 = rp * (1.0 - u) + u
                coef[c, _R1, j] = rc * (1.0 - u) / fp1
                coef[c, _R2, j] = (rc * (1.0 - u) + u) / fp1
                coef[c, _K1, j] = w * (-1.0 / (1.0 - u) - (1.0 - rp) / fp1)
                coef[c, _K2, j] = w * ((1.0 - rc) / (rc * (1.0 - u) + u) - (1.0 - rp) / fp1)
    return tree_m, ok, prev, r0, coef


@njit(cache=True, inline="always")
def linear_tree_row(x, phi, root, m, int_nodes, k_lo, k_hi, leaf_node, l_lo, l_hi, left, right, feature, threshold,
                    is_categorical, missing_left, bitset_idx, known_bitset_idx, bitsets, value, node_player, prev, r0,
                    coef, gh, a_at, case_at, reach_at):
    """Add one tree's path-dependent Shapley values of row ``x`` to ``phi``; return the tree's output."""
    for j in range(m):
        gh[0, j] = 1.0
    a_at[0] = 1
    reach_at[0] = 1
    for k in range(k_lo, k_hi):  # down: children follow their parent in node order
        p = int_nodes[k]
        v = x[feature[p]]
        if not is_categorical[p] and not np.isnan(v):
            go = v <= threshold[p]
        else:
            go = _goes_left(p, v, feature, threshold, missing_left, is_categorical, bitset_idx, known_bitset_idx,
                            bitsets)
        ps = p - root
        for side in range(2):
            c = left[p] if side == 0 else right[p]
            went = np.uint8(go) if side == 0 else np.uint8(not go)
            cs = c - root
            pe = prev[c]
            ap = np.uint8(1) if pe < 0 else a_at[pe - root]
            a = ap & went
            a_at[cs] = a
            case_at[cs] = ap + a
            reach_at[cs] = reach_at[ps] & went
            if ap == 0:
                f = r0[c]
                for j in range(m):
                    gh[cs, j] = gh[ps, j] * f
            else:
                row = _R2 if a else _R1
                for j in range(m):
                    gh[cs, j] = gh[ps, j] * coef[c, row, j]
    out = 0.0
    for li in range(l_lo, l_hi):
        node = leaf_node[li]
        ls = node - root
        v = value[node]
        if reach_at[ls]:
            out += v
        for j in range(m):
            gh[ls, j] *= v
    for k in range(k_hi - 1, k_lo - 1, -1):  # up: children before their parent
        p = int_nodes[k]
        ps = p - root
        lc = left[p]
        rc = right[p]
        acc = 0.0
        for side in range(2):
            c = lc if side == 0 else rc
            case = case_at[c - root]
            if case == 0:
                continue
            row = _K2 if case == 2 else _K1
            for j in range(m):
                acc += gh[c - root, j] * coef[c, row, j]
        phi[node_player[p]] += acc
        for j in range(m):
            gh[ps, j] = gh[lc - root, j] + gh[rc - root, j]
    return out
