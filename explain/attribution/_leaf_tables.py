"""Per-leaf Shapley games of a tree ensemble and their tables (both TreeSHAP meanings).

Both games are sums of per-leaf product games, whose Shapley values depend on the explained row only
through a bit mask (which of the leaf's players the row agrees with). This module summarises each leaf's
path once per model, tabulates the values per leaf and mask once per model (and background), and computes
a leaf per call when its table would be too large.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _leaf_paths(tree_offsets, left, right, node_player, cover, max_depth):
    """Per-leaf path summaries that do not depend on the explained row.

    For each leaf: its path nodes with the direction taken and the slot of the
    node's player among the leaf's unique players, and per unique player the
    product of cover ratios (the probability that a row with the player
    unknown follows the path).
    """
    n_nodes = left.shape[0]
    parent = np.full(n_nodes, -1, dtype=np.int64)
    n_leaves = 0
    for node in range(n_nodes):
        if left[node] >= 0:
            parent[left[node]] = node
            parent[right[node]] = node
        else:
            n_leaves += 1
    cap = max(max_depth, 1)
    leaf_node = np.empty(n_leaves, dtype=np.int64)
    path_len = np.zeros(n_leaves, dtype=np.int64)
    path_node = np.zeros((n_leaves, cap), dtype=np.int64)
    path_left = np.zeros((n_leaves, cap), dtype=np.uint8)
    path_slot = np.zeros((n_leaves, cap), dtype=np.int64)
    n_unique = np.zeros(n_leaves, dtype=np.int64)
    uniq_player = np.zeros((n_leaves, cap), dtype=np.int64)
    uniq_r = np.ones((n_leaves, cap))
    reach = np.zeros(n_leaves)  # cover(leaf) / cover(root) via the path ratios
    leaf_of_node = np.full(n_nodes, -1, dtype=np.int64)
    up_node = np.empty(cap, dtype=np.int64)
    up_left = np.empty(cap, dtype=np.uint8)
    up_ratio = np.empty(cap)
    li = 0
    for node in range(n_nodes):
        if left[node] >= 0:
            continue
        leaf_node[li] = node
        leaf_of_node[node] = li
        child = node
        k = 0
        while parent[child] >= 0:
            par = parent[child]
            up_node[k] = par
            up_left[k] = 1 if left[par] == child else 0
            up_ratio[k] = cover[child] / cover[par] if cover[par] > 0 else 0.0
            k += 1
            child = par
        # Slots are numbered from the root down (a player's slot is its first appearance on the way to
        # the leaf), so a depth-first walk of the tree can build the same masks as it descends.
        p = 1.0
        for j in range(k):
            par = up_node[k - 1 - j]
            f = node_player[par]
            slot = -1
            for s in range(n_unique[li]):
                if uniq_player[li, s] == f:
                    slot = s
                    break
            if slot < 0:
                slot = n_unique[li]
                uniq_player[li, slot] = f
                n_unique[li] += 1
            uniq_r[li, slot] *= up_ratio[k - 1 - j]
            p *= up_ratio[k - 1 - j]
            path_node[li, j] = par
            path_left[li, j] = up_left[k - 1 - j]
            path_slot[li, j] = slot
        path_len[li] = k
        reach[li] = p
        li += 1
    return (leaf_node, path_len, path_node, path_left, path_slot, n_unique, uniq_player, uniq_r, reach,
            leaf_of_node)


def _coalition_weights(max_d: int) -> tuple[np.ndarray, np.ndarray]:
    """Shapley weights of a leaf reached with a x-only and b z-only players.

    ``wx[a, b] = (a-1)! b! / (a+b)!`` and ``wz[a, b] = a! (b-1)! / (a+b)!``,
    built from exact binomials so deep trees do not need factorials.
    """
    n = max_d + 1
    comb = np.zeros((2 * n + 1, 2 * n + 1))
    for i in range(2 * n + 1):
        comb[i, 0] = 1.0
        for j in range(1, i + 1):
            comb[i, j] = comb[i - 1, j - 1] + comb[i - 1, j]
    wx = np.zeros((n + 1, n + 1))
    wz = np.zeros((n + 1, n + 1))
    for a in range(n + 1):
        for b in range(n + 1):
            if a > 0:
                wx[a, b] = 1.0 / (a * comb[a + b, a])
            if b > 0:
                wz[a, b] = 1.0 / (b * comb[a + b, b])
    return wx, wz


@njit(cache=True)
def _popcount(m):
    # Branch-free (SWAR): the per-call pattern scan counts bits of every pattern that completes a path.
    x = np.uint64(m)
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


# --------------------------------------------------------------------------- leaf games
#
# Both meanings decompose over leaves: the model is a sum of leaf indicators, and a leaf is reached by a
# coalition S exactly when every player on its path lets it through. Per player g of the leaf's path,
# ``a_g`` says whether the explained row x satisfies all of g's conditions on the path; in the
# path-dependent game an absent player lets the path through with probability ``r_g`` (its cover ratios),
# in the interventional game a background row z does with ``b_g`` (0 or 1). A leaf's game is therefore a
# product game, its Shapley values depend on x only through the bit mask of the a_g, and they can be
# tabulated per leaf and mask once per model (and per background): "v2"-class TreeSHAP. A call then costs
# one routing pass plus, per leaf, a mask and d table additions.


@njit(cache=True)
def _pd_leaf(v, d, a, r, gl_u, gl_w, fac, out):
    """Add the path-dependent Shapley values of one leaf's product game to ``out`` (slot order).

    The leaf's game is a product of per-player factors (a_g if g is known, r_g if not). Player s gets
    ``v (a_s - r_s) sum_k w(k) e_k``, with ``e_k`` the coefficients of ``prod_{g != s} (r_g + a_g t)`` and
    ``w(k) = k! (d-k-1)! / d! = int_0^1 u^k (1-u)^(d-1-k) du``; so the sum is the integral over [0, 1] of
    ``prod_{g != s} (r_g (1-u) + a_g u)``, a polynomial of degree d-1 that Gauss-Legendre quadrature with
    ceil(d/2) nodes integrates exactly.
    """
    m = (d + 1) // 2
    for j in range(m):
        u = gl_u[m, j]
        w = v * gl_w[m, j]
        # Product of all factors but s's, as prefix times suffix: no division, zero factors need no care.
        prefix = 1.0
        for g in range(d):
            fac[g] = prefix
            prefix *= r[g] * (1.0 - u) + a[g] * u
        suffix = w
        for s in range(d - 1, -1, -1):
            out[s] += (a[s] - r[s]) * fac[s] * suffix
            suffix *= r[s] * (1.0 - u) + a[s] * u


def _gauss_legendre(max_d: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [0, 1], row m holding the m-point rule (m = 1 .. ceil(max_d / 2))."""
    n = max(1, (max_d + 1) // 2) + 1
    u = np.zeros((n, n))
    w = np.zeros((n, n))
    for m in range(1, n):
        x, wt = np.polynomial.legendre.leggauss(m)
        u[m, :m] = (x + 1.0) / 2.0
        w[m, :m] = wt / 2.0
    return u, w


@njit(cache=True)
def _pd_tables(value, leaf_node, n_unique, uniq_r, gl_u, gl_w, tab_off, table_size):
    table = np.zeros(table_size)
    cap = uniq_r.shape[1]
    a = np.empty(cap, dtype=np.uint8)
    fac = np.empty(cap)
    for li in range(leaf_node.shape[0]):
        off = tab_off[li]
        if off < 0:
            continue
        d = n_unique[li]
        v = value[leaf_node[li]]
        for mask in range(1 << d):
            for s in range(d):
                a[s] = (mask >> s) & 1
            _pd_leaf(v, d, a, uniq_r[li], gl_u, gl_w, fac, table[off + mask * d: off + (mask + 1) * d])
    return table


@njit(cache=True)
def _leaf_mask(dirs, li, path_len, path_node, path_left, path_slot, full):
    mask = full
    for k in range(path_len[li]):
        if dirs[path_node[li, k]] != path_left[li, k]:
            mask &= ~(np.int64(1) << path_slot[li, k])
    return mask


@njit(cache=True)
def _sorted_leaf_masks(zdir_t, li, path_len, path_node, path_left, path_slot, n_unique, buf):
    """Every background row's mask at leaf ``li``, sorted; ``zdir_t`` is (node, row): a path node's
    directions for all rows are read in one contiguous sweep."""
    full = (np.int64(1) << n_unique[li]) - 1
    for b in range(buf.shape[0]):
        buf[b] = full
    for k in range(path_len[li]):
        row = zdir_t[path_node[li, k]]
        want = path_left[li, k]
        bit = np.int64(1) << path_slot[li, k]
        for b in range(buf.shape[0]):
            buf[b] &= ~(bit * np.int64(row[b] != want))
    buf.sort()


@njit(cache=True, parallel=True)
def _iv_patterns(zdir_t, leaf_node, path_len, path_node, path_left, path_slot, n_unique):
    """Per leaf, the distinct background masks (b_g bits) and their shares of the background."""
    n_bg = zdir_t.shape[1]
    n_leaves = leaf_node.shape[0]
    counts = np.zeros(n_leaves + 1, dtype=np.int64)
    for li in prange(n_leaves):
        buf = np.empty(n_bg, dtype=np.int64)
        _sorted_leaf_masks(zdir_t, li, path_len, path_node, path_left, path_slot, n_unique, buf)
        n = 1
        for b in range(1, n_bg):
            if buf[b] != buf[b - 1]:
                n += 1
        counts[li + 1] = n
    for li in range(n_leaves):
        counts[li + 1] += counts[li]
    pat_mask = np.empty(counts[n_leaves], dtype=np.int64)
    pat_w = np.zeros(counts[n_leaves])
    for li in prange(n_leaves):
        buf = np.empty(n_bg, dtype=np.int64)
        _sorted_leaf_masks(zdir_t, li, path_len, path_node, path_left, path_slot, n_unique, buf)
        p = counts[li]
        pat_mask[p] = buf[0]
        pat_w[p] = 1.0
        for b in range(1, n_bg):
            if buf[b] != buf[b - 1]:
                p += 1
                pat_mask[p] = buf[b]
            pat_w[p] += 1.0
        for q in range(counts[li], counts[li + 1]):
            pat_w[q] /= n_bg
    return counts, pat_mask, pat_w


# Interventional tables, compressed by the symmetry of the leaf game. For a row mask m (the players whose
# conditions the row meets) only background masks b covering the rest (b >= ~m) reach the leaf; then the
# z-only players are exactly ~m and the x-only ones m minus b, of which there are d - |b|. So every player
# outside m earns the same A(m) = -v sum_{b >= ~m} W(b) wz[d - |b|, d - |m|], and a player s in m earns
# R0(m) - R1(m - s), where R0(m) = v sum_{b >= ~m} W(b) wx[d - |b|, d - |m|] and R1 is R0 with one fewer
# z-only player (the patterns where s sided with z, which earn s nothing). Since wx[a, t - 1] = wx[a, t] +
# wz[a, t] (the Beta function's recurrence), R1(m) = R0(m) - A(m) - v W(full) / (d - |m|): two numbers per
# mask instead of d, and the weights depend only on sizes, so they are a ranked superset sum over the
# patterns. A(full) is always 0; its slot holds v W(full), the share of the background reaching the leaf.
IV_SLOTS = 2  # A, R0 per mask


@njit(cache=True)
def _iv_build_cost(d, pat_lo, pat_hi, pat_mask):
    """Work to tabulate a leaf: enumerating each pattern's subsets, or the ranked superset transform."""
    direct = 0.0
    for q in range(pat_lo, pat_hi):
        direct += 2.0 ** _popcount(pat_mask[q])
    return min(direct, float(d + 1) * d * 2.0 ** d)


@njit(cache=True)
def _iv_add(table, off, m, t, nx, w, wx, wz):
    base = off + m * IV_SLOTS
    table[base] -= w * wz[nx, t]
    table[base + 1] += w * wx[nx, t]


@njit(cache=True, parallel=True)
def _iv_tables(value, leaf_node, n_unique, pat_off, pat_mask, pat_w, wx, wz, tab_off, table_size, direct_ratio):
    table = np.zeros(table_size)
    for li in prange(leaf_node.shape[0]):  # each leaf writes its own part of the table
        off = tab_off[li]
        if off < 0:
            continue
        d = n_unique[li]
        full = (np.int64(1) << d) - 1
        v = value[leaf_node[li]]
        lo, hi = pat_off[li], pat_off[li + 1]
        for q in range(lo, hi):
            if pat_mask[q] == full:
                table[off + full * IV_SLOTS] = v * pat_w[q]  # A(full) is 0: its slot keeps v W(full)
        direct = 0.0
        for q in range(lo, hi):
            direct += 2.0 ** _popcount(pat_mask[q])
        if direct <= direct_ratio * float(d + 1) * d * 2.0 ** d:  # the cheaper way (ratio: tests force one)
            for q in range(lo, hi):
                b = pat_mask[q]
                nx = d - _popcount(b)
                w = v * pat_w[q]
                sub = b
                while True:  # every T = ~m inside b
                    if sub != 0 or nx != 0:  # (m = full with b = full adds nothing; its A slot is taken)
                        _iv_add(table, off, full & ~sub, _popcount(sub), nx, w, wx, wz)
                    if sub == 0:
                        break
                    sub = (sub - 1) & b
            continue
        n = np.int64(1) << d
        ranked = np.zeros((n, d + 1))  # ranked[T, k]: weight of the patterns b >= T with |b| = k
        for q in range(lo, hi):
            ranked[pat_mask[q], _popcount(pat_mask[q])] += pat_w[q]
        for i in range(d):
            bit = np.int64(1) << i
            for T in range(n):
                if not T & bit:
                    for k in range(d + 1):
                        ranked[T, k] += ranked[T | bit, k]
        for T in range(n):
            t = _popcount(T)
            for k in range(t, d + 1):
                if ranked[T, k] != 0.0 and (T != 0 or k != d):
                    _iv_add(table, off, full & ~T, t, d - k, v * ranked[T, k], wx, wz)
    return table


@njit(cache=True, inline="always")
def iv_table_leaf(acc, table, off, mask, d, li, uniq_player):
    """Add an interventional leaf's Shapley values for the row's mask, read from its compressed table."""
    full = (np.int64(1) << d) - 1
    base = off + mask * IV_SLOTS
    a = table[base]
    r0 = table[base + 1]
    if mask != full and a == 0.0:
        return  # no background row completes this row's path: the leaf plays no part
    # R1(m - s) = R0(m - s) - A(m - s) - v W(full) / (d - |m| + 1); -R1 is credited below.
    reach = table[off + full * IV_SLOTS] / (d - _popcount(mask) + 1)
    for s in range(d):
        bit = np.int64(1) << s
        if mask & bit:
            other = off + (mask ^ bit) * IV_SLOTS
            acc[uniq_player[li, s]] += r0 - table[other + 1] + table[other] + reach
        else:
            acc[uniq_player[li, s]] += a


@njit(cache=True)
def _node_slots(tree_offsets, left, right, node_player, max_depth):
    """Per split: the slot of its player on the way from the root (first appearance numbering) and
    whether the player appears there for the first time. Also checks children follow their parent in
    node order, which lets a call sweep each tree's nodes in order instead of keeping a stack."""
    n_nodes = left.shape[0]
    node_slot = np.zeros(n_nodes, dtype=np.int64)
    node_new = np.zeros(n_nodes, dtype=np.uint8)
    cap = max(max_depth, 1) + 1
    ordered = True
    st_node = np.empty(2 * cap + 2, dtype=np.int64)
    st_n = np.empty(2 * cap + 2, dtype=np.int64)
    players = np.empty(cap, dtype=np.int64)
    for t in range(tree_offsets.shape[0] - 1):
        if tree_offsets[t + 1] == tree_offsets[t]:
            continue
        st_node[0] = tree_offsets[t]
        st_n[0] = 0
        sp = 1
        while sp > 0:
            sp -= 1
            node = st_node[sp]
            n = st_n[sp]
            lc = left[node]
            if lc < 0:
                continue
            if lc <= node or right[node] <= node:
                ordered = False
            p = node_player[node]
            slot = -1
            for s in range(n):
                if players[s] == p:
                    slot = s
                    break
            if slot < 0:
                slot = n
                players[n] = p
                n += 1
                node_new[node] = 1
            node_slot[node] = slot
            # Depth first: the right child's subtree is walked after the left's, whose players sit in
            # ``players`` beyond ``n`` only, so the first ``n`` entries are still this node's path.
            st_node[sp] = right[node]
            st_n[sp] = n
            st_node[sp + 1] = lc
            st_n[sp + 1] = n
            sp += 2
    return node_slot, node_new, ordered


@njit(cache=True)
def _leaf_fallback(acc, mask, li, d, full, v, a, fac, tmp, uniq_player, interventional, uniq_r, gl_u, gl_w,
                   pat_off, pat_mask, pat_w, wx, wz):
    """A leaf with too many players for a table: its Shapley values computed for this row's mask."""
    if not interventional:
        for s in range(d):
            a[s] = (mask >> s) & 1
            tmp[s] = 0.0
        _pd_leaf(v, d, a, uniq_r[li], gl_u, gl_w, fac, tmp)
        for s in range(d):
            acc[uniq_player[li, s]] += tmp[s]
        return
    # A pattern b completes the path with the row only if it covers the players the row fails (b >= ~mask);
    # then the z-only players are exactly ~mask (each earns the same) and the x-only ones mask minus b.
    nz = d - _popcount(mask)
    z_share = 0.0
    for q in range(pat_off[li], pat_off[li + 1]):
        b = pat_mask[q]
        if (mask | b) != full:
            continue
        nx = d - _popcount(b)
        if nx + nz == 0:
            continue
        w = v * pat_w[q]
        z_share -= w * wz[nx, nz]
        if nx > 0:
            px = w * wx[nx, nz]
            xm = mask & ~b
            for s in range(d):
                if xm & (np.int64(1) << s):
                    acc[uniq_player[li, s]] += px
    if nz > 0 and z_share != 0.0:
        for s in range(d):
            if not mask & (np.int64(1) << s):
                acc[uniq_player[li, s]] += z_share
