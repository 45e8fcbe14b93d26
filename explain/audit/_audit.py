"""Tamper-evident audit records for limit decisions.

Every decision the service issues becomes one :class:`AuditRecord`. Records form a hash chain: each record's
hash covers its own canonical payload *and* the previous record's hash, so changing, deleting or reordering
any stored record breaks the chain from that record on, and :func:`verify_chain` names the first record that
no longer fits.

    record_hash = sha256(prev_hash + canonical_json(payload))

The payload is every field of the record except ``prev_hash`` (which is prefixed instead), ``record_hash``
and the rendered ``notices`` (which are covered through ``notice_hashes``: :func:`verify_chain` checks each
stored notice against its hash). Canonical JSON is sorted keys, no insignificant whitespace, UTF-8, no NaN or
infinity, ``-0.0`` written as ``0.0`` and every float in Python's shortest round-trip ``repr``, so the same
values give the same bytes on every platform and after a round trip through SQLite or PostgreSQL.

This module is pure: no database, no web framework. :mod:`explain.audit._store` persists records.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "GENESIS_HASH",
    "AuditRecord",
    "ChainVerification",
    "canonical_json",
    "canonical_value",
    "notice_sha256",
    "record_hash",
    "verify_chain",
]

#: The ``prev_hash`` of the first record in a chain.
GENESIS_HASH = "0" * 64

# Fields left out of the hashed payload: the chain link is prefixed, the hash is the result, and notices are
# covered by ``notice_hashes`` (so a store may keep or drop the rendered text without changing the chain).
_UNHASHED = frozenset({"prev_hash", "record_hash", "notices"})
# Fields added after the first records were written: hashed when set, left out when None, so records written
# before them keep their hashes.
_HASHED_WHEN_SET = frozenset({"issuer_key_id", "issuer_key_name", "recourse"})


def _canonical(obj: Any) -> Any:
    """Turn ``obj`` into plain JSON types, refusing values that have no single canonical spelling."""
    # Exact built-in types first (a record is thousands of them, hashed on every append); everything else,
    # subclasses included, takes the general path below.
    kind = type(obj)
    if kind is str or obj is None or kind is bool or kind is int:
        return obj
    if kind is dict:
        return {k if type(k) is str else str(k): _canonical(v) for k, v in obj.items()}
    if kind is float:
        if obj - obj != 0.0:  # inf or NaN
            raise ValueError(f"Audit records cannot hold non-finite numbers; got {obj!r}.")
        return 0.0 if obj == 0.0 else obj  # one spelling for zero: -0.0 and 0.0 hash alike
    if kind is list or kind is tuple:
        return [_canonical(v) for v in obj]
    return _canonical_other(obj)


def _canonical_other(obj: Any) -> Any:
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"Audit records cannot hold non-finite numbers; got {obj!r}.")
        return 0.0 if obj == 0.0 else float(obj)  # one spelling for zero: -0.0 and 0.0 hash alike
    if isinstance(obj, Decimal):
        return _canonical(float(obj))
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_canonical(v) for v in obj]
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    # numpy scalars and the like: anything with .item() that yields a plain value
    item = getattr(obj, "item", None)
    if callable(item):
        return _canonical(item())
    raise TypeError(f"Audit records hold JSON values only; got {type(obj).__name__}.")


def canonical_value(obj: Any) -> Any:
    """``json.loads(canonical_json(obj))``, without writing and parsing the text: plain JSON values, every
    object's keys in sorted order."""
    return _sorted(_canonical(obj))


def _sorted(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: _sorted(value[k]) for k in sorted(value)}
    if kind is list:
        return [_sorted(v) for v in value]
    return value


def canonical_json(obj: Any) -> str:
    """The one JSON spelling of ``obj`` that hashes are computed over.

    >>> canonical_json({"b": 1.0, "a": [-0.0, "数"]})
    '{"a":[0.0,"数"],"b":1.0}'
    """
    return json.dumps(_canonical(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def notice_sha256(notice: Mapping[str, Any]) -> str:
    """Hash of one rendered notice (its canonical JSON), as kept in ``AuditRecord.notice_hashes``."""
    return hashlib.sha256(canonical_json(notice).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    """One issued decision, with everything needed to verify and replay it.

    ``seq``, ``prev_hash`` and ``record_hash`` are assigned by the store when the record is appended to the
    chain; a draft carries ``seq=0`` and empty hashes. ``inputs`` is the caller's request as received
    (features, limits, currency, dates, policy reasons, locales, channels); ``notices`` maps
    ``"<locale>/<channel>"`` to the rendered notice and ``notice_hashes`` the same keys to their hashes.
    ``issuer_key_id`` and ``issuer_key_name`` say which API key issued the decision (never the key itself);
    they are hashed like the rest, so who issued a decision cannot be changed unnoticed.
    """

    decision_id: str
    created_at: str  # ISO 8601, UTC
    account_ref: str
    decision: str
    inputs: dict[str, Any]
    bundle_name: str
    bundle_version: str
    bundle_sha256: str
    catalog_sha256: str
    template_sha256: str
    background_sha256: str
    method: str
    score: float
    margin: float
    base_value: float
    group_contributions: dict[str, float]
    reasons: list[dict[str, Any]]
    excluded: list[dict[str, Any]]
    notice_hashes: dict[str, str]
    notices: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    seq: int = 0
    prev_hash: str = ""
    record_hash: str = ""
    issuer_key_id: str | None = None
    issuer_key_name: str | None = None
    # What would change the decision (explain.recourse.Recourse.to_dict()): verified suggestions or the
    # certificate that none exists. Hashed when set; None for favourable decisions and older records.
    recourse: dict[str, Any] | None = None

    def payload(self) -> dict[str, Any]:
        """The hashed fields, as plain JSON values."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in _UNHASHED and not (f.name in _HASHED_WHEN_SET and getattr(self, f.name) is None)}

    def compute_hash(self, prev_hash: str | None = None) -> str:
        """The hash this record should carry after ``prev_hash`` (default: its own ``prev_hash``)."""
        return record_hash(self.prev_hash if prev_hash is None else prev_hash, self.payload())

    def chained(self, *, seq: int, prev_hash: str, created_at: str | None = None) -> AuditRecord:
        """This record placed in the chain at ``seq`` after a record whose hash is ``prev_hash``."""
        return self.chained_with_payload(seq=seq, prev_hash=prev_hash, created_at=created_at)[0]

    def chained_with_payload(self, *, seq: int, prev_hash: str,
                             created_at: str | None = None) -> tuple[AuditRecord, str]:
        """:meth:`chained`, and the canonical JSON of the chained record's payload, so a caller that also
        needs its hash (the log's leaf) does not write it again."""
        stamp = self.created_at if created_at is None else created_at
        linked = replace(self, seq=seq, prev_hash=prev_hash, created_at=stamp, record_hash="")
        payload = canonical_json(linked.payload())
        digest = hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()  # record_hash(prev, payload)
        return replace(linked, record_hash=digest), payload

    def to_dict(self) -> dict[str, Any]:
        return _canonical(asdict(self))


def record_hash(prev_hash: str, payload: Mapping[str, Any]) -> str:
    """``sha256(prev_hash + canonical_json(payload))`` as lowercase hex."""
    return hashlib.sha256((prev_hash + canonical_json(payload)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of walking a chain: ``ok``, how many records were checked, and the first break if any."""

    ok: bool
    checked: int
    head_seq: int | None = None
    head_hash: str | None = None
    first_bad_seq: int | None = None
    first_bad_decision_id: str | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.ok:
            for key in ("first_bad_seq", "first_bad_decision_id", "problem"):
                data.pop(key)
        return data


def verify_chain(records: Iterable[AuditRecord], *, prev_hash: str = GENESIS_HASH, start_seq: int = 1) -> ChainVerification:
    """Walk ``records`` in chain order and report the first one that does not fit.

    A record breaks the chain when its ``seq`` is not the next number, its ``prev_hash`` is not the previous
    record's hash, its stored ``record_hash`` differs from the hash of its content, or a stored notice no
    longer matches its hash. ``records`` may be any iterable (a database cursor): it is read once.

    >>> a = AuditRecord("d1", "2026-01-01T00:00:00+00:00", "acc", "limit_decrease", {}, "b", "1", "h", "c",
    ...                 "t", "g", "tree", 0.5, 0.0, -1.0, {}, [], [], {}).chained(seq=1, prev_hash=GENESIS_HASH)
    >>> verify_chain([a]).ok
    True
    >>> verify_chain([replace(a, score=0.6)]).problem
    'record_hash does not match the record content'
    """
    expected_prev = prev_hash
    expected_seq = start_seq
    checked = 0
    last: AuditRecord | None = None
    for rec in records:
        problem = None
        if rec.seq != expected_seq:
            problem = f"seq is {rec.seq}, expected {expected_seq} (a record is missing or out of order)"
        elif rec.prev_hash != expected_prev:
            problem = "prev_hash does not match the previous record's hash"
        elif rec.compute_hash() != rec.record_hash:
            problem = "record_hash does not match the record content"
        else:
            for key, notice in rec.notices.items():
                if rec.notice_hashes.get(key) != notice_sha256(notice):
                    problem = f"stored notice {key!r} does not match its hash"
                    break
        if problem is not None:
            return ChainVerification(
                ok=False,
                checked=checked,
                head_seq=last.seq if last else None,
                head_hash=last.record_hash if last else None,
                first_bad_seq=rec.seq,
                first_bad_decision_id=rec.decision_id,
                problem=problem,
            )
        checked += 1
        last = rec
        expected_prev = rec.record_hash
        expected_seq = rec.seq + 1
    return ChainVerification(
        ok=True,
        checked=checked,
        head_seq=last.seq if last else None,
        head_hash=last.record_hash if last else None,
    )
