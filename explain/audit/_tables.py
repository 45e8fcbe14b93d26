"""The audit store's tables, as SQLAlchemy declarative rows: the schema the Alembic migrations in
:mod:`explain.migrations` create (each later table or column names its revision).

Split from ``_store`` (what reads and writes them); the review stage's own tables extend the same ``Base``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["AccessRow", "ApiKeyRow", "AuditRow", "Base", "ChainHead", "IdempotencyRow", "LogCheckpointRow",
           "LogEntryRow", "LogNodeRow", "SessionRow"]


class Base(DeclarativeBase):
    pass


class AuditRow(Base):
    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    decision_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    created_at: Mapped[str] = mapped_column(sa.String(32), index=True)
    account_ref: Mapped[str] = mapped_column(sa.String(128), index=True)
    decision: Mapped[str] = mapped_column(sa.String(32))
    inputs: Mapped[str] = mapped_column(sa.Text)
    bundle_name: Mapped[str] = mapped_column(sa.String(128))
    bundle_version: Mapped[str] = mapped_column(sa.String(64))
    bundle_sha256: Mapped[str] = mapped_column(sa.String(64))
    catalog_sha256: Mapped[str] = mapped_column(sa.String(64))
    template_sha256: Mapped[str] = mapped_column(sa.String(64))
    background_sha256: Mapped[str] = mapped_column(sa.String(64))
    method: Mapped[str] = mapped_column(sa.String(32))
    score: Mapped[float] = mapped_column(sa.Double)
    margin: Mapped[float] = mapped_column(sa.Double)
    base_value: Mapped[float] = mapped_column(sa.Double)
    group_contributions: Mapped[str] = mapped_column(sa.Text)
    reasons: Mapped[str] = mapped_column(sa.Text)
    excluded: Mapped[str] = mapped_column(sa.Text)
    notice_hashes: Mapped[str] = mapped_column(sa.Text)
    notices: Mapped[str] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    record_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    issuer_key_id: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    issuer_key_name: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)


class ChainHead(Base):
    """One row (id 1): the last appended record. Locking it serialises appends."""

    __tablename__ = "chain_head"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    record_hash: Mapped[str] = mapped_column(sa.String(64))


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    role: Mapped[str] = mapped_column(sa.String(16))
    key_sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[str] = mapped_column(sa.String(32))
    revoked: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    revoked_at: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    tenant: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, index=True)  # revision 0005
    scope: Mapped[str | None] = mapped_column(sa.Text, nullable=True)  # JSON; NULL: unlimited (revision 0005)


class AccessRow(Base):
    """One read of a stored decision by an agent or auditor key (revision ``0003_access_log``)."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    at: Mapped[str] = mapped_column(sa.String(32), index=True)
    key_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    key_name: Mapped[str] = mapped_column(sa.String(128))
    role: Mapped[str] = mapped_column(sa.String(16))
    account_ref: Mapped[str] = mapped_column(sa.String(128), index=True)
    decision_id: Mapped[str] = mapped_column(sa.String(36))
    via: Mapped[str] = mapped_column(sa.String(16))


class SessionRow(Base):
    """A signed-in agent page session: only the sha256 of its token is kept."""

    __tablename__ = "agent_sessions"

    token_sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[str] = mapped_column(sa.String(32))
    expires_at: Mapped[str] = mapped_column(sa.String(32))


class LogEntryRow(Base):
    """One entry of the Merkle log (revision ``0004_merkle_log``): written with what it records, in the same
    transaction, and given its ``leaf_index`` later by the sequencer (NULL until then)."""

    __tablename__ = "log_entries"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    ref: Mapped[str] = mapped_column(sa.String(64))
    leaf_hash: Mapped[str] = mapped_column(sa.String(64))
    leaf_index: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, unique=True)
    created_at: Mapped[str] = mapped_column(sa.String(32))


class LogNodeRow(Base):
    """A complete subtree's hash above the leaves: level ``level`` >= 1, covering leaves
    ``[idx * 2**level, (idx + 1) * 2**level)``."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(sa.String(64))


class LogCheckpointRow(Base):
    """A signed checkpoint, one per integrated batch; ``note`` gathers witnesses' cosignatures later."""

    __tablename__ = "log_checkpoints"

    tree_size: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(sa.String(64))
    note: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[str] = mapped_column(sa.String(32))


class IdempotencyRow(Base):
    __tablename__ = "idempotency_keys"

    caller: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(sa.String(64))
    decision_id: Mapped[str] = mapped_column(sa.String(36))
    status_code: Mapped[int] = mapped_column(sa.Integer)
    response: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[str] = mapped_column(sa.String(32))
