"""The Merkle log: entries (every decision and every read), the stored tree, signed checkpoints.

Revision ID: 0004_merkle_log
Revises: 0003_access_log
Create Date: 2026-12-05

``log_entries`` gets one row per decision record and per read, written in the same transaction as what it
records; the sequencer gives each its ``leaf_index`` (NULL until then), stores the new complete subtree
hashes in ``log_nodes`` and a signed checkpoint in ``log_checkpoints``. Existing records become the first
entries, in chain order, then the existing reads in the order they were logged; the old hash chain is kept
as it was and keeps verifying. Self-contained: the leaf encoding is the one of ``explain.audit._leaves``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_merkle_log"
down_revision: str | Sequence[str] | None = "0003_access_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000


def upgrade() -> None:
    op.create_table(
        "log_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
        sa.Column("leaf_index", sa.BigInteger, nullable=True, unique=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_log_entries_ref", "log_entries", ["kind", "ref"])
    # The sequencer's queue: entries not integrated yet, in arrival order.
    op.create_index("ix_log_entries_pending", "log_entries", ["id"],
                    postgresql_where=sa.text("leaf_index IS NULL"), sqlite_where=sa.text("leaf_index IS NULL"))
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("tree_size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    _enter_existing()


def _enter_existing() -> None:
    """Queue the existing records (chain order) and reads (log order) as the log's first entries."""
    from explain.audit._leaves import DECISION, READ, decision_leaf_hash, read_leaf_hash
    from explain.audit._store import _row_to_record

    conn = op.get_bind()
    entries = sa.table("log_entries", sa.column("kind"), sa.column("ref"), sa.column("leaf_hash"),
                       sa.column("created_at"))
    after = 0
    while True:
        rows = conn.execute(sa.text("SELECT * FROM audit_records WHERE seq > :after ORDER BY seq LIMIT :n"),
                            {"after": after, "n": _BATCH}).all()
        if not rows:
            break
        records = [_row_to_record(r) for r in rows]
        conn.execute(sa.insert(entries), [{"kind": DECISION, "ref": r.decision_id, "leaf_hash": decision_leaf_hash(r),
                                           "created_at": r.created_at} for r in records])
        after = records[-1].seq
    after = 0
    while True:
        rows = conn.execute(sa.text("SELECT * FROM access_log WHERE id > :after ORDER BY id LIMIT :n"),
                            {"after": after, "n": _BATCH}).mappings().all()
        if not rows:
            break
        conn.execute(sa.insert(entries), [{"kind": READ, "ref": str(r["id"]), "leaf_hash": read_leaf_hash(r),
                                           "created_at": r["at"]} for r in rows])
        after = rows[-1]["id"]


def downgrade() -> None:
    op.drop_table("log_checkpoints")
    op.drop_table("log_nodes")
    op.drop_index("ix_log_entries_pending", table_name="log_entries")
    op.drop_index("ix_log_entries_ref", table_name="log_entries")
    op.drop_table("log_entries")
