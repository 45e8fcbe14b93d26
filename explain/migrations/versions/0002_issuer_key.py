"""Who issued each decision (the API key's id and name) and when a key was revoked.

Revision ID: 0002_issuer_key
Revises: 0001
Create Date: 2026-11-29

Both record columns are nullable: records written before this revision have no issuer, and their hashes
leave the issuer out (see ``explain.audit._audit``), so the existing chain still verifies.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_issuer_key"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_records") as batch:
        batch.add_column(sa.Column("issuer_key_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("issuer_key_name", sa.String(128), nullable=True))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("revoked_at", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("revoked_at")
    with op.batch_alter_table("audit_records") as batch:
        batch.drop_column("issuer_key_name")
        batch.drop_column("issuer_key_id")
