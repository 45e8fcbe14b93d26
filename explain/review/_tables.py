"""The review tables (revision ``0006_reviews``), in the audit store's metadata.

``review_events`` is the record: append-only, one row per action, each row a leaf of the Merkle log (kind
``review``). ``reviews`` is an index over it for the queue (state, due date, held), rewritten as events land;
a review is always rebuilt from its events, never read from the index alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from explain.audit._tables import Base

__all__ = ["ReviewEventRow", "ReviewRow"]


class ReviewRow(Base):
    __tablename__ = "reviews"

    review_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    decision_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    account_ref: Mapped[str] = mapped_column(sa.String(128), index=True)
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    awaiting_second: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    held: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    jurisdiction: Mapped[str] = mapped_column(sa.String(8))
    requested_at: Mapped[str] = mapped_column(sa.String(32))
    due_date: Mapped[str] = mapped_column(sa.String(10), index=True)
    decided_at: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    updated_at: Mapped[str] = mapped_column(sa.String(32))
    events: Mapped[int] = mapped_column(sa.Integer)


class ReviewEventRow(Base):
    __tablename__ = "review_events"
    __table_args__ = (sa.UniqueConstraint("review_id", "seq", name="uq_review_events_review_seq"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    review_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    decision_id: Mapped[str] = mapped_column(sa.String(36))
    seq: Mapped[int] = mapped_column(sa.Integer)
    at: Mapped[str] = mapped_column(sa.String(32))
    action: Mapped[str] = mapped_column(sa.String(16))
    from_state: Mapped[str] = mapped_column(sa.String(16))
    to_state: Mapped[str] = mapped_column(sa.String(16))
    key_id: Mapped[str] = mapped_column(sa.String(32))
    key_name: Mapped[str] = mapped_column(sa.String(128))
    role: Mapped[str] = mapped_column(sa.String(16))
    body: Mapped[str] = mapped_column(sa.Text)
