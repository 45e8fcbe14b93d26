"""Human review of automated decisions: the review events (on the Merkle log) and the queue's index.

Revision ID: 0006_reviews
Revises: 0005_agent_scopes
Create Date: 2026-12-05

``review_events`` holds every action on a customer's request for a human review (request, triage, notes,
what-ifs, the decision and its second look), append-only; each row is a log entry of kind ``review``.
``reviews`` indexes the current state, due date and hold of each review for the queue.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_reviews"
down_revision: str | Sequence[str] | None = "0005_agent_scopes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("review_id", sa.String(36), primary_key=True),
        sa.Column("decision_id", sa.String(36), nullable=False, index=True),
        sa.Column("account_ref", sa.String(128), nullable=False, index=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("awaiting_second", sa.Boolean, nullable=False, default=False),
        sa.Column("held", sa.Boolean, nullable=False, default=False),
        sa.Column("jurisdiction", sa.String(8), nullable=False),
        sa.Column("requested_at", sa.String(32), nullable=False),
        sa.Column("due_date", sa.String(10), nullable=False, index=True),
        sa.Column("decided_at", sa.String(32), nullable=True),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
    )
    op.create_table(
        "review_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("review_id", sa.String(36), nullable=False, index=True),
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("key_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.UniqueConstraint("review_id", "seq", name="uq_review_events_review_seq"),
    )


def downgrade() -> None:
    op.drop_table("review_events")
    op.drop_table("reviews")
