"""RFC 9162 Merkle trees: leaf and node hashing, roots, inclusion and consistency proofs, and their checks.

The log stores only *complete, aligned* subtree hashes ("nodes": level ``l``, index ``i`` covers leaves
``[i * 2**l, (i + 1) * 2**l)``; level 0 are the leaf hashes). Every hash that RFC 9162's definitions ask for,
``MTH(D[lo:hi])`` on any range its recursion visits, splits into such nodes, so a root or a proof is
computed from at most ``2 log2(n)`` stored nodes. Functions here take a ``node(level, index)`` callable; a
store first asks :func:`nodes_needed` which ones, fetches them in one query, then calls again.

Appending goes through a :class:`CompactRange`: the roots of the perfect subtrees that make up a tree of
size ``n`` (one per set bit of ``n``). Adding a leaf merges equal-sized neighbours and yields every new
complete node once, which is what the sequencer stores.

Pure: hashlib only, no database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence

__all__ = [
    "EMPTY_ROOT",
    "CompactRange",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "nodes_needed",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

#: ``MTH({})``: the hash of an empty tree.
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeGetter = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof that does not prove what it claims (or asks for sizes a tree cannot have)."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(lo: int, hi: int, node: NodeGetter) -> bytes:
    n = hi - lo
    if n & (n - 1) == 0 and lo % n == 0:  # a complete, aligned subtree: stored
        level = n.bit_length() - 1
        return node(level, lo >> level)
    k = _split(n)
    return node_hash(_mth(lo, lo + k, node), _mth(lo + k, hi, node))


def root(size: int, node: NodeGetter) -> bytes:
    """``MTH(D[0:size])``."""
    if size < 0:
        raise ProofError(f"A tree size must be >= 0; got {size}.")
    return EMPTY_ROOT if size == 0 else _mth(0, size, node)


def _path(m: int, lo: int, hi: int, node: NodeGetter) -> list[bytes]:
    # RFC 9162 2.1.3.1 PATH(m, D[lo:hi]), m relative to lo.
    n = hi - lo
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, lo, lo + k, node), _mth(lo + k, hi, node)]
    return [*_path(m - k, lo + k, hi, node), _mth(lo, lo + k, node)]


def inclusion_proof(index: int, size: int, node: NodeGetter) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 2.1.3.1)."""
    if not 0 <= index < size:
        raise ProofError(f"Leaf {index} is not in a tree of {size} leaves.")
    return _path(index, 0, size, node)


def _subproof(m: int, lo: int, hi: int, complete: bool, node: NodeGetter) -> list[bytes]:
    # RFC 9162 2.1.4.1 SUBPROOF(m, D[lo:hi], b).
    n = hi - lo
    if m == n:
        return [] if complete else [_mth(lo, hi, node)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, lo, lo + k, complete, node), _mth(lo + k, hi, node)]
    return [*_subproof(m - k, lo + k, hi, False, node), _mth(lo, lo + k, node)]


def consistency_proof(old_size: int, new_size: int, node: NodeGetter) -> list[bytes]:
    """Proof that the tree of ``old_size`` leaves is a prefix of the tree of ``new_size`` (RFC 9162 2.1.4.1)."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"No consistency proof from size {old_size} to size {new_size}.")
    if old_size in (0, new_size):
        return []
    return _subproof(old_size, 0, new_size, True, node)


def nodes_needed(compute: Callable[[NodeGetter], object]) -> list[tuple[int, int]]:
    """The ``(level, index)`` nodes ``compute(node)`` reads, found by a dry run (so they can be fetched at once)."""
    seen: dict[tuple[int, int], None] = {}

    def record(level: int, index: int) -> bytes:
        seen[(level, index)] = None
        return EMPTY_ROOT

    compute(record)
    return list(seen)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> None:
    """Check an inclusion proof (RFC 9162 2.1.3.2); raise :class:`ProofError` when it fails."""
    if not 0 <= index < size:
        raise ProofError(f"Leaf {index} cannot be in a tree of {size} leaves.")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("The inclusion proof is longer than the tree is deep.")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("The inclusion proof is shorter than the tree is deep.")
    if r != root_hash:
        raise ProofError("The inclusion proof does not lead to the checkpoint's root hash.")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Check a consistency proof (RFC 9162 2.1.4.2); raise :class:`ProofError` when it fails."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"A tree of {new_size} leaves cannot extend one of {old_size}.")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise ProofError("Two trees of the same size must have the same root and an empty proof.")
        return
    if old_size == 0:
        if proof:
            raise ProofError("A proof from the empty tree must be empty.")
        return
    if not proof:
        raise ProofError("The consistency proof is empty.")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("The consistency proof is longer than the tree is deep.")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("The consistency proof is shorter than the tree is deep.")
    if fr != old_root:
        raise ProofError(f"The log's first {old_size} entries no longer hash to the older checkpoint's root.")
    if sr != new_root:
        raise ProofError("The consistency proof does not lead to the newer root.")


class CompactRange:
    """The right edge of a tree: one (level, hash) per perfect subtree, largest first.

    >>> cr = CompactRange()
    >>> new = [n for d in (b"a", b"b", b"c") for n in cr.append(leaf_hash(d))]
    >>> [(level, index) for level, index, _ in new]
    [(0, 0), (0, 1), (1, 0), (0, 2)]
    >>> cr.size, cr.root() == node_hash(node_hash(leaf_hash(b"a"), leaf_hash(b"b")), leaf_hash(b"c"))
    (3, True)
    """

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        self.size = size
        self._stack: list[tuple[int, bytes]] = list(zip(self.levels(size), hashes, strict=True))

    @staticmethod
    def levels(size: int) -> list[int]:
        """The levels of the perfect subtrees of a tree of ``size`` leaves, largest first."""
        return [level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]

    @staticmethod
    def coordinates(size: int) -> list[tuple[int, int]]:
        """The ``(level, index)`` nodes a compact range of ``size`` leaves is made of, largest first."""
        out, start = [], 0
        for level in CompactRange.levels(size):
            out.append((level, start >> level))
            start += 1 << level
        return out

    def append(self, leaf: bytes) -> Iterator[tuple[int, int, bytes]]:
        """Add one leaf hash; yield every node it completes, the leaf first, as ``(level, index, hash)``."""
        index = self.size
        self.size += 1
        level, h = 0, leaf
        yield 0, index, h
        while self._stack and self._stack[-1][0] == level:
            _, left = self._stack.pop()
            h = node_hash(left, h)
            level += 1
            yield level, index >> level, h
        self._stack.append((level, h))

    def hashes(self) -> list[bytes]:
        return [h for _, h in self._stack]

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        r = self._stack[-1][1]
        for _, h in reversed(self._stack[:-1]):
            r = node_hash(h, r)
        return r
