"""Bulk append of a chunk's audit records: one transaction per chunk, the chain intact, each decision once.

The same serialisation as :meth:`explain.audit._store.AuditStore.append` (the chain head row locked, ``BEGIN
IMMEDIATE`` on SQLite), but one lock and one multi-row insert for a whole chunk instead of a transaction per
record. Records whose ``decision_id`` is already stored are skipped: batch decision ids are derived from the
decision's inputs, so a chunk that was stored just before a crash, and is processed again on resume, adds
nothing the second time.

Each record's Merkle-log entry is inserted in the same transaction, through the same code as a single
append (:func:`explain.audit._store._decision_entry`); the sequencer integrates them like any other.

Kept apart from the store module (which the service owns) and built on its table definitions only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from explain.audit._audit import AuditRecord
from explain.audit._store import AuditStore, _decision_entry, _record_to_row, utc_timestamp
from explain.audit._tables import AuditRow, ChainHead, LogEntryRow

__all__ = ["append_many"]

_RECORDS = AuditRow.__table__


def append_many(store: AuditStore, drafts: Sequence[AuditRecord]) -> int:
    """Chain and insert the ``drafts`` not stored yet, in order, in one transaction; return how many were new."""
    if not drafts:
        return 0
    ids = [d.decision_id for d in drafts]
    with store._writing() as conn, conn.begin():  # noqa: SLF001 - the store's own write-lock connection
        head = conn.execute(
            sa.select(ChainHead.seq, ChainHead.record_hash).where(ChainHead.id == 1).with_for_update()
        ).one()
        stored = set(conn.execute(sa.select(_RECORDS.c.decision_id).where(_RECORDS.c.decision_id.in_(ids))).scalars())
        seq, prev, stamp = head.seq, head.record_hash, utc_timestamp()
        rows, entries = [], []
        for draft in drafts:
            if draft.decision_id in stored:
                continue
            stored.add(draft.decision_id)
            record, payload = draft.chained_with_payload(seq=seq + 1, prev_hash=prev, created_at=stamp)
            rows.append(_record_to_row(record))
            entries.append(_decision_entry(record, payload))
            seq, prev = record.seq, record.record_hash
        if rows:
            conn.execute(sa.insert(_RECORDS), rows)
            conn.execute(sa.insert(LogEntryRow), entries)  # on the Merkle log, for the sequencer to integrate
            conn.execute(sa.update(ChainHead).where(ChainHead.id == 1).values(seq=seq, record_hash=prev))
    return len(rows)
