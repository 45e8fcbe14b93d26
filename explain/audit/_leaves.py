"""What each entry of the Merkle log is: the canonical bytes a leaf hashes, for a decision and for a read.

A decision's leaf names the decision, the sha256 of its whole hashed payload (inputs, attribution, reasons,
the bundle's hash, which pins its model, catalog *and translations*, the template hash, the issuer, and the
hash of every rendered notice) and those notice hashes again, in the clear: so a customer holding one notice
and its receipt can recompute the leaf without seeing anything else of the record. A read's leaf is every
column of its access-log row; a review event's leaf is every column of its ``review_events`` row (the
action, who took it, when, and its body: statement, rationale, outcome and outcome notices). All are canonical JSON (:func:`explain.audit._audit.canonical_json`), and
the leaf hash is RFC 9162's ``SHA-256(0x00 || bytes)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from explain.audit._audit import AuditRecord, canonical_json
from explain.audit._merkle import leaf_hash

__all__ = ["DECISION", "READ", "READ_FIELDS", "REVIEW", "REVIEW_FIELDS", "decision_leaf", "decision_leaf_hash",
           "leaf_bytes", "read_leaf", "read_leaf_hash", "review_leaf", "review_leaf_hash"]

DECISION = "decision"
READ = "read"
#: The columns of an access-log row that a read's leaf covers.
READ_FIELDS = ("at", "key_id", "key_name", "role", "account_ref", "decision_id", "via")
REVIEW = "review"
#: The columns of a ``review_events`` row that a review event's leaf covers (explain.review writes them).
REVIEW_FIELDS = ("id", "review_id", "decision_id", "seq", "at", "action", "from_state", "to_state", "key_id",
                 "key_name", "role", "body")


def decision_leaf(record: AuditRecord, payload_json: str | None = None) -> dict[str, Any]:
    """The leaf of a stored decision, as a JSON object (what a receipt carries); ``payload_json``, when the
    caller has it, is ``canonical_json(record.payload())``."""
    if payload_json is None:
        payload_json = canonical_json(record.payload())
    record_sha256 = hashlib.sha256(payload_json.encode("utf-8")).hexdigest()
    return {"type": DECISION, "decision_id": record.decision_id, "record_sha256": record_sha256,
            "notice_hashes": dict(record.notice_hashes)}


def leaf_bytes(leaf: Mapping[str, Any]) -> bytes:
    return canonical_json(leaf).encode("utf-8")


def decision_leaf_hash(record: AuditRecord, payload_json: str | None = None) -> str:
    return leaf_hash(leaf_bytes(decision_leaf(record, payload_json))).hex()


def read_leaf(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": READ, **{name: row[name] for name in READ_FIELDS}}


def read_leaf_hash(row: Mapping[str, Any]) -> str:
    return leaf_hash(leaf_bytes(read_leaf(row))).hex()


def review_leaf(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": REVIEW, **{name: row[name] for name in REVIEW_FIELDS}}


def review_leaf_hash(row: Mapping[str, Any]) -> str:
    return leaf_hash(leaf_bytes(review_leaf(row))).hex()
