"""The audit record's canonical hashing and the pure chain verifier."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from explain.audit._audit import GENESIS_HASH, AuditRecord, canonical_json, notice_sha256, record_hash, verify_chain


def _draft(i: int = 1, **changes: object) -> AuditRecord:
    notice = {"subject": "Your credit limit", "text": f"Dear customer {i}", "locale": "en"}
    base = AuditRecord(
        decision_id=f"d-{i}",
        created_at="2026-11-29T12:00:00.000000+00:00",
        account_ref="acc-1",
        decision="limit_decrease",
        inputs={"features": {"age": 30, "purpose": "car"}, "old_limit": 5000.0, "new_limit": 3000.0},
        bundle_name="demo",
        bundle_version="1",
        bundle_sha256="b" * 64,
        catalog_sha256="c" * 64,
        template_sha256="t" * 64,
        background_sha256="g" * 64,
        method="tree_path_dependent",
        score=0.25,
        margin=-1.0986,
        base_value=-1.2,
        group_contributions={"savings": 0.3, "age": -0.1},
        reasons=[{"code": "savings", "contribution": 0.3}],
        excluded=[{"code": "age", "contribution": -0.1, "would_rank": 2}],
        notice_hashes={"en/letter": notice_sha256(notice)},
        notices={"en/letter": notice},
    )
    return replace(base, **changes)


def _chain(n: int) -> list[AuditRecord]:
    records, prev = [], GENESIS_HASH
    for i in range(1, n + 1):
        rec = _draft(i).chained(seq=i, prev_hash=prev)
        records.append(rec)
        prev = rec.record_hash
    return records


def test_canonical_json_is_sorted_compact_and_unicode() -> None:
    assert canonical_json({"b": 1, "a": {"d": [1.5, -0.0], "c": "降低"}}) == '{"a":{"c":"降低","d":[1.5,0.0]},"b":1}'


def test_canonical_json_spells_numpy_values_as_python_ones() -> None:
    assert canonical_json({"x": np.float64(0.1), "n": np.int64(3)}) == canonical_json({"x": 0.1, "n": 3})


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_canonical_json_refuses_non_finite_numbers(bad: float) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        canonical_json({"score": bad})


def test_canonical_json_refuses_unknown_types() -> None:
    with pytest.raises(TypeError, match="JSON values only"):
        canonical_json({"x": object()})


def test_record_hash_is_sha256_of_prev_hash_and_payload() -> None:
    import hashlib

    rec = _draft().chained(seq=1, prev_hash=GENESIS_HASH)
    expected = hashlib.sha256((GENESIS_HASH + canonical_json(rec.payload())).encode()).hexdigest()
    assert rec.record_hash == expected == record_hash(GENESIS_HASH, rec.payload())
    assert "record_hash" not in rec.payload() and "prev_hash" not in rec.payload() and "notices" not in rec.payload()


def test_float_round_trip_keeps_the_hash() -> None:
    rec = _draft(score=0.1 + 0.2).chained(seq=1, prev_hash=GENESIS_HASH)
    again = replace(rec, score=float(repr(rec.score)))
    assert again.compute_hash() == rec.record_hash


def test_valid_chain_verifies() -> None:
    records = _chain(5)
    result = verify_chain(records)
    assert result.ok and result.checked == 5
    assert result.head_seq == 5 and result.head_hash == records[-1].record_hash
    assert "problem" not in result.to_dict()


def test_empty_chain_verifies() -> None:
    result = verify_chain([])
    assert result.ok and result.checked == 0 and result.head_seq is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda r: replace(r, score=0.99), "record_hash does not match"),
        (lambda r: replace(r, reasons=[]), "record_hash does not match"),
        (lambda r: replace(r, prev_hash="f" * 64), "prev_hash does not match"),
        (lambda r: replace(r, seq=7), "seq is 7, expected 3"),
        (lambda r: replace(r, notices={"en/letter": {"text": "forged"}}), "stored notice 'en/letter'"),
    ],
)
def test_verify_names_the_first_broken_record(change, problem: str) -> None:
    records = _chain(5)
    records[2] = change(records[2])
    result = verify_chain(records)
    assert not result.ok
    assert result.first_bad_seq == records[2].seq and result.first_bad_decision_id == "d-3"
    assert problem in result.problem
    assert result.checked == 2 and result.head_seq == 2


def test_a_deleted_record_breaks_the_chain_at_its_successor() -> None:
    records = _chain(4)
    del records[1]
    result = verify_chain(records)
    assert not result.ok and result.first_bad_decision_id == "d-3"


def test_verify_reads_an_iterator_once() -> None:
    assert verify_chain(iter(_chain(3))).checked == 3
