"""The Merkle log over the audit store: integrate entries, sign checkpoints, give proofs, verify everything.

Every decision record and every read is written with a ``log_entries`` row in its own transaction (the
201 is given then, durably). :meth:`AuditLog.integrate` is the sequencer's step: one transaction that
takes the sequencer lock (``pg_try_advisory_xact_lock`` on PostgreSQL, so any worker may take over and
only one integrates at a time; SQLite's single writer), gives the pending entries the next leaf indices in
arrival order, stores the complete subtree hashes they finish and a checkpoint signed with the log's key,
and commits. A sequencer killed mid-batch rolls back: nothing is lost (the entries stay pending) and
nothing is integrated twice (``leaf_index`` and the checkpoint's size are unique).

:meth:`AuditLog.verify` is the auditor's check against a checkpoint held *outside* the database (a file,
a witness): it recomputes every leaf from the records, notices and reads as they are stored now, rebuilds
the tree from them, and requires (1) the tree of the checkpoint's size to have the checkpoint's root,
(2) a valid consistency proof from it to the newest signed checkpoint, and (3) every record and read in
the database to be on the log. A rewrite (even with every hash recomputed), a truncation, an emptied
table, a removed notice or a deleted read breaks one of these and is named: the first entry whose content
no longer matches, or, when the stored leaf hashes were rewritten as well, the batch between two signed
checkpoints where the log stops reproducing what was signed.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from explain.audit._audit import notice_sha256
from explain.audit._checkpoint import Checkpoint, CheckpointError, Signer, Verifier
from explain.audit._leaves import (DECISION, READ, READ_FIELDS, REVIEW, REVIEW_FIELDS, decision_leaf, leaf_bytes,
                                   read_leaf, review_leaf)
from explain.audit._merkle import (CompactRange, ProofError, consistency_proof, inclusion_proof, leaf_hash,
                                   nodes_needed, root, verify_consistency, verify_inclusion)
from explain.audit._store import AuditStore, _row_to_record, utc_timestamp
from explain.audit._tables import AccessRow, AuditRow, LogCheckpointRow, LogEntryRow, LogNodeRow

__all__ = ["AuditLog", "LogVerification", "NotIntegratedError", "Receipt", "verify_receipt"]

_SEQUENCER_LOCK = 0x6578706C6F67  # "explog": the pg advisory lock id held by the integrating sequencer
_RECORDS = AuditRow.__table__
_ENTRIES = LogEntryRow.__table__
#: The review events (revision 0006_reviews, written by explain.review): named here, not imported, so the log
#: does not depend on the review stage.
_REVIEW_EVENTS = sa.table("review_events", *(sa.column(name) for name in REVIEW_FIELDS))


class NotIntegratedError(LookupError):
    """The entry is stored but not in a signed checkpoint yet (the sequencer runs every fraction of a second)."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(f"The decision {ref!r} is stored but not yet in a signed checkpoint; retry in a moment.")


@dataclass(frozen=True)
class Receipt:
    """What proves one decision is on the log: its leaf, its inclusion proof, the checkpoint that covers it."""

    leaf_index: int
    tree_size: int
    leaf: dict[str, Any]
    inclusion_proof: list[str]
    checkpoint: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify_receipt(receipt: Mapping[str, Any], verifier: Verifier, *,
                   notices: Mapping[str, Mapping[str, Any]] | None = None) -> Checkpoint:
    """Check a receipt offline: the checkpoint's signature, the inclusion proof, and each notice's hash.

    ``notices`` maps ``"<locale>/<channel>"`` to the notice the customer received; each must hash to the
    value the leaf carries. Returns the verified checkpoint; raises :class:`CheckpointError` or
    :class:`ProofError` naming what failed.
    """
    checkpoint = Checkpoint.parse(receipt["checkpoint"], verifier)
    if checkpoint.size != receipt["tree_size"]:
        raise ProofError(f"The receipt says tree size {receipt['tree_size']}, its checkpoint {checkpoint.size}.")
    leaf = receipt["leaf"]
    for key, notice in (notices or {}).items():
        expected = leaf.get("notice_hashes", {}).get(key)
        if expected is None:
            raise ProofError(f"The receipt's decision has no notice {key!r}.")
        if notice_sha256(notice) != expected:
            raise ProofError(f"The notice {key!r} is not the one on the log (its hash differs).")
    proof = [base64.b64decode(p) for p in receipt["inclusion_proof"]]
    verify_inclusion(leaf_hash(leaf_bytes(leaf)), receipt["leaf_index"], checkpoint.size, proof, checkpoint.root)
    return checkpoint


@dataclass(frozen=True)
class LogVerification:
    """The outcome of :meth:`AuditLog.verify`: ``ok``, how many entries were checked, and the first bad one."""

    ok: bool
    checked: int
    tree_size: int
    checkpoint_size: int
    pending: int = 0
    first_bad_index: int | None = None
    first_bad_kind: str | None = None
    first_bad_ref: str | None = None
    bad_range: tuple[int, int] | None = None
    problem: str | None = None
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: v for k, v in data.items() if v is not None and v != []}


class AuditLog:
    """The Merkle log of ``store``: ``signer`` (the private key) to integrate, ``verifier`` to check.

    Examples
    --------
    >>> log = AuditLog(store, signer=load_signer("/run/secrets/explain-log.key"))  # doctest: +SKIP
    >>> log.integrate()  # doctest: +SKIP
    """

    def __init__(self, store: AuditStore, *, signer: Signer | None = None, verifier: Verifier | None = None,
                 retired: Sequence[Verifier] = ()) -> None:
        self.store = store
        self.signer = signer
        self.verifier = verifier or (signer.verifier if signer else None)
        #: Public keys the log signed with before a rotation (SECURITY.md): their checkpoints still count.
        self.retired = list(retired)

    # ----------------------------------------------------------------------------------------- nodes
    @staticmethod
    def _fetch(conn: Connection, coords: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        out: dict[tuple[int, int], bytes] = {}
        leaves = [i for lvl, i in coords if lvl == 0]
        upper = [(lvl, i) for lvl, i in coords if lvl > 0]
        for start in range(0, len(leaves), 500):
            chunk = leaves[start:start + 500]
            for index, h in conn.execute(sa.select(LogEntryRow.leaf_index, LogEntryRow.leaf_hash)
                                         .where(LogEntryRow.leaf_index.in_(chunk))):
                out[(0, index)] = bytes.fromhex(h)
        by_level: dict[int, list[int]] = {}
        for lvl, i in upper:
            by_level.setdefault(lvl, []).append(i)
        if by_level:
            # One (level = l AND idx IN ...) term per level: both databases use the primary key for each,
            # where a row-value IN makes SQLite scan the table.
            where = sa.or_(*(sa.and_(LogNodeRow.level == lvl, LogNodeRow.idx.in_(ids)) for lvl, ids in by_level.items()))
            for lvl, i, h in conn.execute(sa.select(LogNodeRow.level, LogNodeRow.idx, LogNodeRow.hash).where(where)):
                out[(lvl, i)] = bytes.fromhex(h)
        missing = [c for c in coords if c not in out]
        if missing:
            raise ProofError(f"The stored tree lacks the node(s) {missing[:3]} (level, index): the log was altered.")
        return out

    def _computed(self, conn: Connection, compute: Callable[[Callable[[int, int], bytes]], Any]) -> Any:
        nodes = self._fetch(conn, nodes_needed(compute))
        return compute(lambda level, index: nodes[(level, index)])

    # ------------------------------------------------------------------------------------- sequencer
    def integrate(self, *, max_entries: int = 20_000,
                  before_commit: Callable[[int], None] | None = None) -> Checkpoint | None:
        """Integrate up to ``max_entries`` pending entries and sign a checkpoint; None when there was nothing
        to do or another sequencer holds the lock. One transaction: all of the batch or none of it."""
        if self.signer is None:
            raise CheckpointError("Integrating the log needs its signing key (EXPLAIN_LOG_KEY_FILE).")
        with self.store._writing() as conn, conn.begin():  # noqa: SLF001 - the store's write-lock connection
            if self.store.dialect == "postgresql":
                if not conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": _SEQUENCER_LOCK}).scalar():
                    return None
            size = conn.execute(sa.select(sa.func.coalesce(sa.func.max(LogCheckpointRow.tree_size), 0))).scalar_one()
            pending = conn.execute(sa.select(LogEntryRow.id, LogEntryRow.leaf_hash)
                                   .where(LogEntryRow.leaf_index.is_(None))
                                   .order_by(LogEntryRow.id).limit(max_entries)).all()
            if not pending:
                return None
            coords = CompactRange.coordinates(size)
            stored = self._fetch(conn, coords)
            compact = CompactRange(size, [stored[c] for c in coords])
            nodes, indices = [], []
            for entry_id, h in pending:
                indices.append({"entry_id": entry_id, "leaf_index": compact.size})
                nodes.extend({"level": lvl, "idx": i, "hash": node.hex()}
                             for lvl, i, node in compact.append(bytes.fromhex(h)) if lvl > 0)
            conn.execute(sa.update(_ENTRIES)
                         .where(_ENTRIES.c.id == sa.bindparam("entry_id"), _ENTRIES.c.leaf_index.is_(None))
                         .values(leaf_index=sa.bindparam("leaf_index")), indices)
            if nodes:
                conn.execute(sa.insert(LogNodeRow), nodes)
            checkpoint = Checkpoint.sign(self.signer, compact.size, compact.root())
            conn.execute(sa.insert(LogCheckpointRow).values(tree_size=checkpoint.size, root_hash=checkpoint.root.hex(),
                                                            note=checkpoint.note, created_at=utc_timestamp()))
            if before_commit is not None:
                before_commit(len(pending))
        return checkpoint

    def integrate_all(self, *, batch: int = 20_000) -> Checkpoint | None:
        """Integrate until nothing is pending (the CLI and batch jobs); the last checkpoint signed, if any."""
        last = None
        while (checkpoint := self.integrate(max_entries=batch)) is not None:
            last = checkpoint
        return last

    def pending(self) -> int:
        with self.store.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(LogEntryRow)
                                .where(LogEntryRow.leaf_index.is_(None))).scalar_one()

    # ----------------------------------------------------------------------------------- checkpoints
    def latest(self) -> Checkpoint | None:
        """The newest signed checkpoint (its log signature checked), or None before the first batch."""
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(LogCheckpointRow.note).order_by(LogCheckpointRow.tree_size.desc())
                               .limit(1)).one_or_none()
        return None if row is None else self._parse(row.note)

    def _parse(self, note: str) -> Checkpoint:
        if self.verifier is None:
            raise CheckpointError("Reading checkpoints needs the log's public key (EXPLAIN_LOG_PUBLIC_KEY).")
        try:
            return Checkpoint.parse(note, self.verifier)
        except CheckpointError:
            for old in self.retired:
                try:
                    return Checkpoint.parse(note, old)
                except CheckpointError:
                    continue
            raise

    def add_cosignatures(self, size: int, lines: list[str]) -> Checkpoint:
        """Keep witnesses' cosignature lines with the checkpoint of ``size``."""
        with self.store._writing() as conn, conn.begin():  # noqa: SLF001
            note = conn.execute(sa.select(LogCheckpointRow.note).where(LogCheckpointRow.tree_size == size)).scalar_one()
            updated = self._parse(note).with_cosignatures(lines)
            conn.execute(sa.update(LogCheckpointRow).where(LogCheckpointRow.tree_size == size).values(note=updated.note))
        return updated

    # ---------------------------------------------------------------------------------------- proofs
    def receipt(self, decision_id: str) -> Receipt:
        """The inclusion proof of a decision in the newest checkpoint; :class:`NotIntegratedError` if pending,
        :class:`LookupError` if there is no such decision."""
        with self.store.engine.connect() as conn:
            entry = conn.execute(sa.select(LogEntryRow.leaf_index).where(LogEntryRow.kind == DECISION,
                                                                         LogEntryRow.ref == decision_id)).one_or_none()
            row = conn.execute(sa.select(_RECORDS).where(_RECORDS.c.decision_id == decision_id)).one_or_none()
            if entry is None or row is None:
                raise LookupError(decision_id)
            note = conn.execute(sa.select(LogCheckpointRow.note).order_by(LogCheckpointRow.tree_size.desc())
                                .limit(1)).scalar_one_or_none()
            checkpoint = None if note is None else self._parse(note)
            if entry.leaf_index is None or checkpoint is None or entry.leaf_index >= checkpoint.size:
                raise NotIntegratedError(decision_id)
            proof = self._computed(conn, lambda node: inclusion_proof(entry.leaf_index, checkpoint.size, node))
        return Receipt(entry.leaf_index, checkpoint.size, decision_leaf(_row_to_record(row)),
                       [base64.b64encode(p).decode() for p in proof], checkpoint.note)

    def inclusion_by_leaf(self, leaf_hash_hex: str) -> tuple[int, Checkpoint, list[bytes]]:
        """The first leaf with this hash in the newest checkpoint: its index, the checkpoint, the proof.
        :class:`LookupError` when there is none (the public endpoint: knowing the hash is the credential)."""
        with self.store.engine.connect() as conn:
            note = conn.execute(sa.select(LogCheckpointRow.note).order_by(LogCheckpointRow.tree_size.desc())
                                .limit(1)).scalar_one_or_none()
            if note is None:
                raise LookupError(leaf_hash_hex)
            checkpoint = self._parse(note)
            index = conn.execute(sa.select(LogEntryRow.leaf_index)
                                 .where(LogEntryRow.leaf_hash == leaf_hash_hex, LogEntryRow.leaf_index < checkpoint.size)
                                 .order_by(LogEntryRow.leaf_index).limit(1)).scalar_one_or_none()
            if index is None:
                raise LookupError(leaf_hash_hex)
            return index, checkpoint, self._computed(conn, lambda node: inclusion_proof(index, checkpoint.size, node))

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        with self.store.engine.connect() as conn:
            return self._computed(conn, lambda node: consistency_proof(old_size, new_size, node))

    def root(self, size: int) -> bytes:
        with self.store.engine.connect() as conn:
            return self._computed(conn, lambda node: root(size, node))

    # ---------------------------------------------------------------------------------------- verify
    def _integrated(self, batch_size: int = 2000) -> Iterator[tuple[Any, bytes | None, str | None]]:
        """Every integrated entry in leaf order, with the leaf recomputed from what is stored now (or None)
        and, when the content is missing or inconsistent, why."""
        after = -1
        while True:
            with self.store.engine.connect() as conn:
                entries = conn.execute(sa.select(LogEntryRow.leaf_index, LogEntryRow.kind, LogEntryRow.ref,
                                                 LogEntryRow.leaf_hash)
                                       .where(LogEntryRow.leaf_index > after).order_by(LogEntryRow.leaf_index)
                                       .limit(batch_size)).all()
                ids = [e.ref for e in entries if e.kind == DECISION]
                records = {r.decision_id: _row_to_record(r) for r in
                           conn.execute(sa.select(_RECORDS).where(_RECORDS.c.decision_id.in_(ids)))} if ids else {}
                read_ids = [int(e.ref) for e in entries if e.kind == READ]
                reads = {str(r["id"]): r for r in conn.execute(sa.select(AccessRow.__table__)
                                                               .where(AccessRow.id.in_(read_ids))).mappings()} if read_ids else {}
                event_ids = [int(e.ref) for e in entries if e.kind == REVIEW]
                events = {str(r["id"]): r for r in conn.execute(sa.select(_REVIEW_EVENTS)
                                                                .where(_REVIEW_EVENTS.c.id.in_(event_ids))).mappings()} if event_ids else {}
            for e in entries:
                if e.kind == DECISION:
                    record = records.get(e.ref)
                    if record is None:
                        yield e, None, f"the decision record {e.ref} is missing"
                        continue
                    problem = None
                    for key in record.notice_hashes:
                        notice = record.notices.get(key)
                        if notice is None:
                            problem = f"the notice {key!r} of decision {e.ref} was removed"
                            break
                        if notice_sha256(notice) != record.notice_hashes[key]:
                            problem = f"the notice {key!r} of decision {e.ref} was changed"
                            break
                    yield e, leaf_hash(leaf_bytes(decision_leaf(record))), problem
                elif e.kind == READ:
                    row = reads.get(e.ref)
                    if row is None:
                        yield e, None, f"the read {e.ref} (an access-log row) is missing"
                        continue
                    yield e, leaf_hash(leaf_bytes(read_leaf({k: row[k] for k in READ_FIELDS}))), None
                elif e.kind == REVIEW:
                    row = events.get(e.ref)
                    if row is None:
                        yield e, None, f"the review event {e.ref} is missing"
                        continue
                    yield e, leaf_hash(leaf_bytes(review_leaf(row))), None
                else:
                    yield e, None, f"entry {e.leaf_index} has an unknown kind {e.kind!r}"
            if len(entries) < batch_size:
                return
            after = entries[-1].leaf_index

    def verify(self, trusted: Checkpoint) -> LogVerification:
        """Check the log as stored now against ``trusted``, a checkpoint kept outside the database (its
        signature already checked by :meth:`Checkpoint.parse`). See the module docstring."""
        with self.store.engine.connect() as conn:
            signed_rows = conn.execute(sa.select(LogCheckpointRow.tree_size, LogCheckpointRow.note)
                                       .order_by(LogCheckpointRow.tree_size)).all()
        signed: dict[int, bytes] = {}
        for row in signed_rows:
            try:
                cp = self._parse(row.note)
            except CheckpointError:
                continue  # forged or damaged: worth nothing, and its absence is no excuse either
            if cp.size == row.tree_size:
                signed[cp.size] = cp.root
        signed[trusted.size] = trusted.root
        newest = max(signed)

        compact = CompactRange()
        first: dict[str, Any] | None = None  # the first entry whose content fails
        last_good_signed = 0
        bad_range: tuple[int, int] | None = None
        checked = 0
        for e, content_leaf, problem in self._integrated():
            if e.leaf_index != compact.size:
                problem = problem or f"entries {compact.size}..{e.leaf_index - 1} are missing from the log"
                if first is None:
                    first = {"index": compact.size, "kind": None, "ref": None, "problem": problem}
                break
            if content_leaf is None or problem is not None or content_leaf.hex() != e.leaf_hash:
                if first is None:
                    first = {"index": e.leaf_index, "kind": e.kind, "ref": e.ref,
                             "problem": problem or f"the {e.kind} {e.ref} no longer hashes to its log entry"}
            for _ in compact.append(content_leaf or b"\x00" * 32):
                pass
            checked += 1
            expected = signed.get(compact.size)
            if expected is not None and bad_range is None:
                if compact.root() == expected:
                    last_good_signed = compact.size
                else:
                    bad_range = (last_good_signed, compact.size - 1)
        size = compact.size
        problems: list[str] = []
        if size < newest:
            problems.append(f"the log has {size} entries but a signed checkpoint covers {newest}: "
                            f"entries from {size} on were removed")
            if bad_range is None:
                bad_range = (size, newest - 1)
            if first is None:
                first = {"index": size, "kind": None, "ref": None, "problem": problems[-1]}
        if first is not None and first["problem"] not in problems and (bad_range is None or first["index"] <= bad_range[1]):
            problems.insert(0, first["problem"])
        if bad_range is not None:
            problems.append(f"the log no longer reproduces the signed root of {bad_range[1] + 1} entries: "
                            f"an entry between {bad_range[0]} and {bad_range[1]} was rewritten")
        # The stored tree must prove the trusted checkpoint is a prefix of the newest one.
        if not problems:
            try:
                latest = self.latest()
                if latest is None or latest.size < trusted.size:
                    raise ProofError("there is no signed checkpoint as large as the trusted one")
                verify_consistency(trusted.size, latest.size, trusted.root, latest.root,
                                   self.consistency(trusted.size, latest.size))
            except (ProofError, CheckpointError) as exc:
                problems.append(f"no consistency proof from the trusted checkpoint: {exc}")
        problems.extend(self._unlogged())
        pending = self.pending()
        # Name the entry when its content betrays it; when the attacker recomputed the stored leaf hashes too,
        # only the signed roots can tell, and they name the batch.
        named = first if first is not None and (bad_range is None or first["index"] <= bad_range[1]) else None
        return LogVerification(
            ok=not problems, checked=checked, tree_size=size, checkpoint_size=trusted.size, pending=pending,
            first_bad_index=named["index"] if named else None, first_bad_kind=named["kind"] if named else None,
            first_bad_ref=named["ref"] if named else None, bad_range=bad_range,
            problem=problems[0] if problems else None, problems=problems,
        )

    def _unlogged(self) -> list[str]:
        """Records and reads in the database without a log entry (inserted behind the service's back)."""
        problems = []
        with self.store.engine.connect() as conn:
            e = _ENTRIES
            orphan = conn.execute(sa.select(_RECORDS.c.decision_id).where(~sa.exists().where(
                e.c.kind == DECISION, e.c.ref == _RECORDS.c.decision_id)).limit(1)).scalar_one_or_none()
            if orphan is not None:
                problems.append(f"the decision record {orphan} is not on the log")
            reads = AccessRow.__table__
            orphan = conn.execute(sa.select(reads.c.id).where(~sa.exists().where(
                e.c.kind == READ, e.c.ref == sa.cast(reads.c.id, sa.String))).limit(1)).scalar_one_or_none()
            if orphan is not None:
                problems.append(f"the read {orphan} is not on the log")
            events = _REVIEW_EVENTS
            orphan = conn.execute(sa.select(events.c.id).where(~sa.exists().where(
                e.c.kind == REVIEW, e.c.ref == sa.cast(events.c.id, sa.String))).limit(1)).scalar_one_or_none()
            if orphan is not None:
                problems.append(f"the review event {orphan} is not on the log")
        return problems

