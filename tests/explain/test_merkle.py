"""The log's Merkle tree against an independent RFC 9162 implementation written here from the RFC's text.

The reference below is the RFC's recursive definitions (2.1.1 MTH, 2.1.3.1 PATH, 2.1.4.1 SUBPROOF) over
the list of leaf data, and its verification algorithms (2.1.3.2, 2.1.4.2), written without looking at
``explain.audit._merkle`` and sharing none of its code. The production code computes the same things from
stored subtree hashes and a compact range, so agreement on every size and index up to 70 (and a few large
ones) is a real check.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from explain.audit import _merkle as merkle


# ------------------------------------------------------------------ the reference, straight from RFC 9162
def H(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def k_of(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def MTH(D: list[bytes]) -> bytes:
    n = len(D)
    if n == 0:
        return H(b"")
    if n == 1:
        return H(b"\x00" + D[0])
    k = k_of(n)
    return H(b"\x01" + MTH(D[:k]) + MTH(D[k:]))


def PATH(m: int, D: list[bytes]) -> list[bytes]:
    n = len(D)
    if n == 1:
        return []
    k = k_of(n)
    if m < k:
        return PATH(m, D[:k]) + [MTH(D[k:])]
    return PATH(m - k, D[k:]) + [MTH(D[:k])]


def SUBPROOF(m: int, D: list[bytes], b: bool) -> list[bytes]:
    n = len(D)
    if m == n:
        return [] if b else [MTH(D)]
    k = k_of(n)
    if m <= k:
        return SUBPROOF(m, D[:k], b) + [MTH(D[k:])]
    return SUBPROOF(m - k, D[k:], False) + [MTH(D[:k])]


def PROOF(m: int, D: list[bytes]) -> list[bytes]:
    return SUBPROOF(m, D, True)


def rfc_verify_inclusion(leaf_index: int, tree_size: int, leaf_data: bytes, path: list[bytes], root: bytes) -> bool:
    if leaf_index >= tree_size:
        return False
    fn, sn = leaf_index, tree_size - 1
    r = H(b"\x00" + leaf_data)
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = H(b"\x01" + p + r)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn //= 2
                    sn //= 2
        else:
            r = H(b"\x01" + r + p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root


def rfc_verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]) -> bool:
    if first == second:
        return not path and first_hash == second_hash
    if first == 0:
        return not path
    if not path:
        return False
    path = list(path)
    if first & (first - 1) == 0:
        path = [first_hash] + path
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = H(b"\x01" + c + fr)
            sr = H(b"\x01" + c + sr)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn //= 2
                    sn //= 2
        else:
            sr = H(b"\x01" + sr + c)
        fn //= 2
        sn //= 2
    return sn == 0 and fr == first_hash and sr == second_hash


# ------------------------------------------------------------------ the production tree, built by appending
def build(data: list[bytes]) -> tuple[dict[tuple[int, int], bytes], merkle.CompactRange]:
    nodes: dict[tuple[int, int], bytes] = {}
    compact = merkle.CompactRange()
    for d in data:
        for level, index, h in compact.append(merkle.leaf_hash(d)):
            assert (level, index) not in nodes  # every node is produced once
            nodes[(level, index)] = h
    return nodes, compact


DATA = [f"entry {i}".encode() for i in range(70)]
NODES, _ = build(DATA)


def get(level: int, index: int) -> bytes:
    return NODES[(level, index)]


def test_the_rfc_test_vector_of_the_empty_tree() -> None:
    assert merkle.root(0, get).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("size", range(0, 71))
def test_roots_equal_the_rfc_definition_for_every_size(size: int) -> None:
    assert merkle.root(size, get) == MTH(DATA[:size])
    _, compact = build(DATA[:size])
    assert compact.root() == MTH(DATA[:size])
    # a compact range rebuilt from its stored coordinates continues to the same tree
    resumed = merkle.CompactRange(size, [get(*c) for c in merkle.CompactRange.coordinates(size)])
    for d in DATA[size:]:
        list(resumed.append(merkle.leaf_hash(d)))
    assert resumed.root() == MTH(DATA)


def test_inclusion_proofs_equal_the_rfc_paths_and_verify_both_ways() -> None:
    for size in range(1, 71):
        root = MTH(DATA[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, get)
            assert proof == PATH(index, DATA[:size])
            assert rfc_verify_inclusion(index, size, DATA[index], proof, root)
            merkle.verify_inclusion(merkle.leaf_hash(DATA[index]), index, size, proof, root)


def test_consistency_proofs_equal_the_rfc_proofs_and_verify_both_ways() -> None:
    for new in range(1, 71):
        for old in range(0, new + 1):
            proof = merkle.consistency_proof(old, new, get)
            assert proof == (PROOF(old, DATA[:new]) if 0 < old < new else [])
            assert rfc_verify_consistency(old, new, MTH(DATA[:old]), MTH(DATA[:new]), proof)
            merkle.verify_consistency(old, new, MTH(DATA[:old]), MTH(DATA[:new]), proof)


def test_wrong_proofs_fail_in_both_verifiers() -> None:
    rng = random.Random(7)
    for _ in range(300):
        new = rng.randrange(2, 71)
        old = rng.randrange(1, new)
        index = rng.randrange(new)
        path = merkle.inclusion_proof(index, new, get)
        bad = list(path)
        if bad:
            bad[rng.randrange(len(bad))] = H(b"forged")
            assert not rfc_verify_inclusion(index, new, DATA[index], bad, MTH(DATA[:new]))
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(merkle.leaf_hash(DATA[index]), index, new, bad, MTH(DATA[:new]))
        # the right path for another leaf's data, or a truncated path, fails too
        other = (index + 1) % new
        assert not rfc_verify_inclusion(index, new, DATA[other], path, MTH(DATA[:new]))
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(merkle.leaf_hash(DATA[other]), index, new, path, MTH(DATA[:new]))
        proof = merkle.consistency_proof(old, new, get)
        rewritten = DATA[:old - 1] + [b"rewritten"] + DATA[old:new]
        assert not rfc_verify_consistency(old, new, MTH(DATA[:old]), MTH(rewritten), proof)
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, new, MTH(DATA[:old]), MTH(rewritten), proof)


def test_large_trees_agree_on_sampled_sizes() -> None:
    data = [i.to_bytes(4, "big") for i in range(1500)]
    nodes, compact = build(data)
    assert compact.root() == MTH(data)
    for size, index, old in ((1500, 1023, 1024), (1337, 1336, 1000), (1025, 0, 513)):
        proof = merkle.inclusion_proof(index, size, lambda lvl, i: nodes[(lvl, i)])
        assert proof == PATH(index, data[:size])
        cproof = merkle.consistency_proof(old, size, lambda lvl, i: nodes[(lvl, i)])
        assert rfc_verify_consistency(old, size, MTH(data[:old]), MTH(data[:size]), cproof)
