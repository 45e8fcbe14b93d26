"""A decision appended to the chain on PostgreSQL in one autocommit statement: the chain-head lock is held
by the server alone, never across a round trip to Python.

With the lock taken by a ``SELECT ... FOR UPDATE`` and released by ``COMMIT``, every append held it across
four round trips, and between them the appending thread had to win the worker's GIL back from a thread
busy explaining the next account (up to the interpreter's switch interval, 5 ms, each time): appends
queued behind each other and a worker's throughput followed the lock, not the CPU. Here one statement takes
the lock, computes the record's hash and its Merkle-log leaf from the head it found (PostgreSQL's own
``sha256``), moves the head, inserts the record and its log entry, and commits, all on the server.

The hashes are the ones :meth:`AuditRecord.chained_with_payload` and :func:`decision_leaf_hash` give: the
record's canonical payload is written here in three pieces around the two values only the locked head
decides, its ``created_at`` (taken after the lock, as before, so time order is chain order) and its
``seq``; the leaf's canonical text in two around the payload's sha256. Every piece is bytes, so the
database's encoding plays no part. The caller checks the hash the database returns against the same pieces
in Python before answering (:func:`append_one`). Where a piece cannot be cut cleanly (a value that
happens to spell a marker) the caller takes the locking path.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from explain.audit._audit import AuditRecord, canonical_json
from explain.audit._leaves import DECISION, decision_leaf

__all__ = ["AppendPieces", "append_one", "pieces"]

_SEQ_MARK = 9_876_543_210_123_456_789  # an int no record holds: where the payload's seq goes
_TIME_MARK = "@created-at@"  # where its created_at goes
_SHA_MARK = "@record-sha256@"  # where the leaf's record_sha256 goes

_NOT_STORED_HERE = frozenset({"seq", "prev_hash", "record_hash", "created_at"})


class AppendPieces:
    """A draft's payload and leaf text, cut where the head decides; its row values besides."""

    __slots__ = ("after_seq", "before_time", "leaf_after", "leaf_before", "time_to_seq")

    def __init__(self, before_time: bytes, time_to_seq: bytes, after_seq: bytes, leaf_before: bytes,
                 leaf_after: bytes) -> None:
        self.before_time, self.time_to_seq, self.after_seq = before_time, time_to_seq, after_seq
        self.leaf_before, self.leaf_after = leaf_before, leaf_after

    def payload(self, created_at: str, seq: int) -> bytes:
        return self.before_time + created_at.encode() + self.time_to_seq + str(seq).encode() + self.after_seq


def pieces(draft: AuditRecord) -> AppendPieces | None:
    """The draft's canonical payload and leaf cut around the head's values; None when a cut is not clean."""
    marked = replace(draft, seq=_SEQ_MARK, created_at=_TIME_MARK, prev_hash="", record_hash="")
    text = canonical_json(marked.payload())
    time_token, seq_token = f'"created_at":"{_TIME_MARK}"', f'"seq":{_SEQ_MARK}'
    if text.count(_TIME_MARK) != 1 or text.count(str(_SEQ_MARK)) != 1 or text.count(time_token) != 1 \
            or text.count(seq_token) != 1 or text.index(time_token) > text.index(seq_token):
        return None
    before_time, rest = text.split(_TIME_MARK)
    time_to_seq, after_seq = rest.split(str(_SEQ_MARK))
    leaf = canonical_json({**decision_leaf(marked, ""), "record_sha256": _SHA_MARK})
    if leaf.count(_SHA_MARK) != 1:
        return None
    leaf_before, leaf_after = leaf.split(_SHA_MARK)
    return AppendPieces(before_time.encode(), time_to_seq.encode(), after_seq.encode(), leaf_before.encode(),
                        leaf_after.encode())


def _sql(columns: tuple[str, ...]) -> str:
    values = ", ".join(f"%({c})s" for c in columns)
    return f"""
WITH old AS (SELECT seq, record_hash FROM chain_head WHERE id = 1 FOR UPDATE),
stamped AS (SELECT old.seq + 1 AS seq, old.record_hash AS prev_hash,
                   to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') AS created_at
            FROM old),
payload AS (SELECT seq, prev_hash, created_at,
                   %(before_time)s || convert_to(created_at, 'UTF8') || %(time_to_seq)s
                   || convert_to(seq::text, 'UTF8') || %(after_seq)s AS bytes
            FROM stamped),
hashed AS (SELECT seq, prev_hash, created_at,
                  encode(sha256(convert_to(prev_hash, 'UTF8') || bytes), 'hex') AS record_hash,
                  encode(sha256(bytes), 'hex') AS record_sha256
           FROM payload),
head AS (UPDATE chain_head SET seq = hashed.seq, record_hash = hashed.record_hash FROM hashed
         WHERE chain_head.id = 1 RETURNING chain_head.seq),
record AS (INSERT INTO audit_records (seq, prev_hash, record_hash, created_at, {", ".join(columns)})
           SELECT seq, prev_hash, record_hash, created_at, {values} FROM hashed RETURNING seq),
entry AS (INSERT INTO log_entries (kind, ref, leaf_hash, created_at)
          SELECT %(kind)s, %(decision_id)s,
                 encode(sha256('\\x00'::bytea || %(leaf_before)s || convert_to(record_sha256, 'UTF8')
                               || %(leaf_after)s), 'hex'),
                 created_at
          FROM hashed RETURNING id)
SELECT hashed.seq, hashed.prev_hash, hashed.record_hash, hashed.created_at, hashed.record_sha256,
       (SELECT count(*) FROM head) AS moved, (SELECT count(*) FROM record) AS stored,
       (SELECT count(*) FROM entry) AS logged
FROM hashed
"""


_STATEMENTS: dict[tuple[str, ...], str] = {}


def append_one(conn: Any, draft: AuditRecord, cut: AppendPieces, row: dict[str, Any]) -> AuditRecord:
    """Append ``draft`` in one statement on ``conn`` (a SQLAlchemy connection in autocommit); ``row`` is
    ``_record_to_row(draft)``. The record as stored, its hash checked against Python's."""
    values = {k: v for k, v in row.items() if k not in _NOT_STORED_HERE}
    columns = tuple(values)
    sql = _STATEMENTS.get(columns) or _STATEMENTS.setdefault(columns, _sql(columns))
    params = {**values, "before_time": cut.before_time, "time_to_seq": cut.time_to_seq, "after_seq": cut.after_seq,
              "leaf_before": cut.leaf_before, "leaf_after": cut.leaf_after, "kind": DECISION}
    got = conn.exec_driver_sql(sql, params).one()
    if (got.moved, got.stored, got.logged) != (1, 1, 1):
        raise RuntimeError(f"The one-statement append wrote {got.moved}/{got.stored}/{got.logged} rows, not 1/1/1.")
    payload = cut.payload(got.created_at, got.seq)
    expected = hashlib.sha256(got.prev_hash.encode() + payload).hexdigest()
    if expected != got.record_hash:  # stored and committed, but not as Python would hash it: say so loudly
        raise RuntimeError(f"Record {got.seq} was stored with hash {got.record_hash}, but its content hashes to "
                           f"{expected}: the chain will not verify from it.")
    return replace(draft, seq=got.seq, prev_hash=got.prev_hash, record_hash=got.record_hash, created_at=got.created_at)
